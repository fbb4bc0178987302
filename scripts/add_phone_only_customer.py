"""Add a customer with only a phone on file, as imported from the shop's old system.

The API collects an email with every new customer, so only such imported customers get their
policy change notices by SMS. This development helper adds one to the configured database
(`PRIVACY_*` settings, like the server), encrypted like every other customer:

    .venv/bin/python scripts/add_phone_only_customer.py --name "Jonas Novak" --phone +4915112345678
"""

import argparse
import asyncio
import sys

from pydantic import TypeAdapter

from app.core.config import resolved_settings
from app.core.crypto import keys_from_settings
from app.core.db import create_engine, new_id, session_factory
from app.core.fields import Phone, PlainText
from app.identity.models import Customer
from app.identity.readers import seal_identity


async def add(name: str, phone: str) -> str:
    """Store the customer; return its id."""
    settings = resolved_settings()
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session, session.begin():
            customer = Customer(id=new_id())
            seal_identity(customer, keys_from_settings(settings), {"name": name, "phone": phone})
            session.add(customer)
            await session.flush()
            return customer.id
    finally:
        await engine.dispose()


def main() -> int:
    """Add one customer and print its id."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True)
    parser.add_argument("--phone", required=True, help="E.164, e.g. +4915112345678")
    args = parser.parse_args()
    name = TypeAdapter(PlainText).validate_python(args.name)
    print(asyncio.run(add(name, TypeAdapter(Phone).validate_python(args.phone))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
