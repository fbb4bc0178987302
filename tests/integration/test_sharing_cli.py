"""The `privacy-api disclosures notify-due` command tells customers whose legal bar ended."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app.core.db import utcnow
from app.disclosures.models import LegalDisclosure
from app.outbox.models import OutboxMessage
from app.policy.roles import Role
from tests.factories import create_customer

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env(settings, data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRIVACY_")}
    env.update({
        "PYTHONPATH": str(PROJECT_ROOT), "PRIVACY_DATA_DIR": str(data_dir),
        "PRIVACY_DATABASE_URL": settings.database_url,
        "PRIVACY_ENCRYPTION_KEYS": json.dumps(
            {kid: key.get_secret_value() for kid, key in settings.encryption_keys.items()}),
        "PRIVACY_ENCRYPTION_ACTIVE_KEY_ID": settings.encryption_active_key_id,
        "PRIVACY_BLIND_INDEX_KEY": settings.blind_index_key.get_secret_value(),
        "PRIVACY_PSEUDONYM_KEY": settings.pseudonym_key.get_secret_value(),
        "PRIVACY_JWT_SECRET": settings.jwt_secret.get_secret_value(),
    })
    return env


async def test_notify_due_tells_customers_whose_bar_ended(app, client, auth, session, tmp_path):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    today = utcnow().date()
    async with app.state.sessions() as db, db.begin():
        for notify_after in (today, today.replace(year=today.year + 1)):
            db.add(LegalDisclosure(customer_id=customer_id, authority="Customs Office Ningbo",
                                   legal_basis="Customs Law art. 12", reference="NB-1",
                                   fields=["orders"], disclosed_at=utcnow(),
                                   notify_after=notify_after, recorded_by="dpo"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "disclosures", "notify-due", cwd=tmp_path,
        env=_env(app.state.settings, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().splitlines() == ["legal disclosures: 1 customers told"]
    told = (await session.scalars(select(LegalDisclosure.notified_at))).all()
    assert sorted(t is not None for t in told) == [False, True]
    mail = (await session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.customer_id == customer_id))).all()
    assert list(mail) == ["legal_disclosure"]
