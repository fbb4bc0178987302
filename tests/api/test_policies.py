"""Policy versions: version 1 seeded, publishing with a 7-day notice period, immutability,
withdrawal, public reads with ETag and Cache-Control, acceptances."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.access.callers import Writer
from app.audit.models import AuditEntry
from app.core.security import Actor
from app.policies import service
from app.policies.errors import NoticePeriodTooShort
from app.policies.models import PolicyAcceptance, PolicyVersion
from app.policies.schemas import PolicyVersionCreate
from app.policy.roles import Role
from tests.factories import create_customer

FIRST_TEXT = (Path(__file__).resolve().parents[2] / "docs" / "privacy-policy.txt").read_text()
OFFICER = Role.PRIVACY_OFFICER


def body(*, days: float = 8, significant: bool = True, **overrides) -> dict:
    effective = datetime.now(UTC) + timedelta(days=days)
    return {"label": "December 2026", "text": "# Privacy Policy\n\nNew sharing rules.",
            "summary": "We now share the order number with Klarna.", "significant": significant,
            "effective_at": effective.isoformat(), **overrides}


async def publish(client, auth, **options) -> dict:
    response = await client.post("/v1/policies", json=body(**options), headers=auth(OFFICER))
    assert response.status_code == 201, response.text
    return response.json()


async def test_version_1_is_the_published_policy_and_in_effect(client):
    response = await client.get("/v1/policies/current")

    assert response.status_code == 200
    current = response.json()
    assert current["version"] == 1 and current["text"] == FIRST_TEXT
    assert current["significant"] is False and current["withdrawn_at"] is None
    assert current["effective_at"].startswith("2026-01-01")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["etag"].startswith('"')


async def test_etag_round_trip_answers_304_until_the_content_changes(client, auth):
    first = await client.get("/v1/policies/current")
    etag = first.headers["etag"]

    again = await client.get("/v1/policies/current", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=60"
    listed = await client.get("/v1/policies/current",
                              headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    stale = await client.get("/v1/policies/current", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.json()["version"] == 1

    none = await client.get("/v1/policies/upcoming")
    assert none.status_code == 404 and none.json()["code"] == "no_upcoming_policy"
    await publish(client, auth)
    upcoming = await client.get("/v1/policies/upcoming")
    assert upcoming.status_code == 200 and upcoming.json()["version"] == 2
    tag = upcoming.headers["etag"]
    assert (await client.get("/v1/policies/upcoming",
                             headers={"If-None-Match": tag})).status_code == 304
    await client.post("/v1/policies/2/withdrawal", headers=auth(OFFICER))
    assert (await client.get("/v1/policies/upcoming",
                             headers={"If-None-Match": tag})).status_code == 404


async def test_single_versions_are_cached_longer_once_final(client, auth):
    first = await client.get("/v1/policies/1")
    assert first.status_code == 200 and first.json()["text"] == FIRST_TEXT
    assert first.headers["cache-control"] == "public, max-age=86400"
    assert (await client.get("/v1/policies/1", headers={
        "If-None-Match": first.headers["etag"]})).status_code == 304

    await publish(client, auth)
    scheduled = await client.get("/v1/policies/2")
    assert scheduled.headers["cache-control"] == "public, max-age=60"
    missing = await client.get("/v1/policies/99")
    assert missing.status_code == 404 and missing.json()["code"] == "policy_version_not_found"


async def test_history_is_paginated_newest_first(client, auth):
    await publish(client, auth, days=8)
    await publish(client, auth, days=9, label="January 2027")

    page = await client.get("/v1/policies", params={"limit": 2})
    assert page.status_code == 200 and "etag" in page.headers
    assert [v["version"] for v in page.json()["items"]] == [3, 2]
    assert "text" not in page.json()["items"][0]
    rest = await client.get("/v1/policies", params={"cursor": page.json()["next_cursor"]})
    assert [v["version"] for v in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None
    bad = await client.get("/v1/policies", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_only_the_privacy_officer_publishes(client, auth):
    assert (await client.post("/v1/policies", json=body())).status_code == 401
    refused = await client.post("/v1/policies", json=body(), headers=auth(Role.STOREFRONT))
    assert refused.status_code == 403 and refused.json()["code"] == "role_not_permitted"

    published = await publish(client, auth)
    assert published["version"] == 2 and published["significant"] is True
    assert (await client.get("/v1/policies/current")).json()["version"] == 1


async def test_notice_period_shorter_than_7_days_is_refused(client, auth):
    short = await client.post("/v1/policies", json=body(days=7 - 1 / 1440),
                              headers=auth(OFFICER))
    assert short.status_code == 422 and short.json()["code"] == "notice_period_too_short"
    naive = await client.post("/v1/policies", json=body(effective_at="2027-01-01T00:00:00"),
                              headers=auth(OFFICER))
    assert naive.status_code == 422 and naive.json()["code"] == "validation_failed"
    ok = await client.post("/v1/policies", json=body(days=7 + 1 / 1440), headers=auth(OFFICER))
    assert ok.status_code == 201
    assert ok.headers["location"] == "/v1/policies/2"


async def test_notice_period_boundary_is_exactly_7_days(app):
    now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    actor = Actor(sub="dpo", role=Role.PRIVACY_OFFICER)

    def payload(effective_at: datetime) -> PolicyVersionCreate:
        return PolicyVersionCreate(label="v", text="t", summary="s", significant=False,
                                   effective_at=effective_at)

    async with app.state.sessions() as session, session.begin():
        caller = Writer(session, actor, app.state.keys)
        with pytest.raises(NoticePeriodTooShort):
            await service.publish(caller, payload(now + timedelta(days=7, microseconds=-1)),
                                  now=now)
        policy = await service.publish(caller, payload(now + timedelta(days=7)), now=now)
        assert policy.published_at == now and policy.effective_at == now + timedelta(days=7)


async def test_published_versions_cannot_be_changed(client, auth, session):
    await publish(client, auth)
    for method in ("PUT", "PATCH"):
        response = await client.request(method, "/v1/policies/2", json=body(),
                                        headers=auth(OFFICER))
        assert response.status_code == 405

    for column, value in (("text", "rewritten"), ("significant", False),
                          ("effective_at", datetime(2030, 1, 1, tzinfo=UTC))):
        with pytest.raises((IntegrityError, DBAPIError)):
            async with session.begin():
                await session.execute(update(PolicyVersion).where(PolicyVersion.version == 2)
                                      .values({column: value}))
    stored = await session.get(PolicyVersion, 2)
    assert stored.text == "# Privacy Policy\n\nNew sharing rules." and stored.significant


async def test_a_scheduled_version_can_be_withdrawn_before_it_takes_effect(client, auth,
                                                                           session):
    await publish(client, auth)

    withdrawn = await client.post("/v1/policies/2/withdrawal", headers=auth(OFFICER))
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"] is not None
    assert (await session.get(PolicyVersion, 2)).withdrawn_at is not None
    again = await client.post("/v1/policies/2/withdrawal", headers=auth(OFFICER))
    assert again.status_code == 409 and again.json()["code"] == "policy_withdrawn"
    history = (await client.get("/v1/policies")).json()["items"]
    assert history[0]["version"] == 2 and history[0]["withdrawn_at"] is not None
    assert (await client.get("/v1/policies/2")).headers["cache-control"] == \
        "public, max-age=86400"

    effective = await client.post("/v1/policies/1/withdrawal", headers=auth(OFFICER))
    assert effective.status_code == 409 and effective.json()["code"] == \
        "policy_already_effective"
    refused = await client.post("/v1/policies/1/withdrawal", headers=auth(Role.SUPPORT_AGENT))
    assert refused.status_code == 403


async def test_public_reads_are_public_in_the_openapi_document(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in ("/v1/policies/current", "/v1/policies/upcoming", "/v1/policies/{version}"):
        assert paths[path]["get"]["security"] == []
    assert paths["/v1/policies"]["get"]["security"] == []
    assert paths["/v1/policies"]["post"]["security"] == [{"bearer": []}]
    assert paths["/v1/policies/{version}/notices"]["get"]["security"] == [{"bearer": []}]


async def test_storefront_records_seen_and_accepted_once_each(client, auth, session):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    url = f"/v1/customers/{customer_id}/policy-acceptances"

    seen = await client.post(url, json={"version": 1, "kind": "seen"}, headers=storefront)
    assert seen.status_code == 201
    assert seen.json()["version"] == 1 and seen.json()["kind"] == "seen"
    again = await client.post(url, json={"version": 1, "kind": "seen"}, headers=storefront)
    assert again.status_code == 200 and again.json() == seen.json()
    accepted = await client.post(url, json={"version": 1, "kind": "accepted"},
                                 headers=storefront)
    assert accepted.status_code == 201

    rows = (await session.scalars(select(PolicyAcceptance.kind)
                                  .where(PolicyAcceptance.customer_id == customer_id))).all()
    assert sorted(rows) == ["accepted", "seen"]
    audited = (await session.scalars(select(AuditEntry).where(
        AuditEntry.subject_id == customer_id, AuditEntry.resource_id == "policy:1"))).all()
    assert sorted(e.action for e in audited) == ["accepted", "seen"]
    assert all(e.actor_role == "storefront" for e in audited)


async def test_customers_record_only_their_own_acceptances(client, auth):
    storefront = auth(Role.STOREFRONT)
    mine = await create_customer(client, headers=storefront)
    other = await create_customer(client, headers=storefront)
    me = auth(Role.CUSTOMER, sub=mine)

    own = await client.post(f"/v1/customers/{mine}/policy-acceptances",
                            json={"version": 1, "kind": "accepted"}, headers=me)
    assert own.status_code == 201
    foreign = await client.post(f"/v1/customers/{other}/policy-acceptances",
                                json={"version": 1, "kind": "accepted"}, headers=me)
    assert foreign.status_code == 404
    agent = await client.post(f"/v1/customers/{mine}/policy-acceptances",
                              json={"version": 1, "kind": "seen"},
                              headers=auth(Role.SUPPORT_AGENT))
    assert agent.status_code == 403


async def test_acceptance_of_unknown_or_withdrawn_versions_is_refused(client, auth):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    url = f"/v1/customers/{customer_id}/policy-acceptances"
    unknown = await client.post(url, json={"version": 7, "kind": "seen"}, headers=storefront)
    assert unknown.status_code == 404 and unknown.json()["code"] == "policy_version_not_found"
    bad = await client.post(url, json={"version": 1, "kind": "liked"}, headers=storefront)
    assert bad.status_code == 422

    await publish(client, auth)
    await client.post("/v1/policies/2/withdrawal", headers=auth(OFFICER))
    withdrawn = await client.post(url, json={"version": 2, "kind": "seen"}, headers=storefront)
    assert withdrawn.status_code == 409 and withdrawn.json()["code"] == "policy_withdrawn"


async def test_consents_record_the_policy_version_in_effect(client, auth, session):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    me = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    url = f"/v1/customers/{customer_id}/consents/notifications"

    first = await client.put(url, json={"granted": False}, headers=me)
    assert first.status_code == 200
    assert first.json()["history"][-1]["policy_version"] == 1

    past = datetime.now(UTC) - timedelta(days=1)
    async with session.begin():
        session.add(PolicyVersion(version=2, label="in effect", text="t", summary="s",
                                  significant=False, published_at=past - timedelta(days=7),
                                  effective_at=past, published_by="dpo"))
    second = await client.put(url, json={"granted": True}, headers=me)
    assert [h["policy_version"] for h in second.json()["history"]] == [1, 2]
    stored = (await session.execute(text(
        "SELECT policy_version FROM consent_event WHERE customer_id = :c "
        "ORDER BY changed_at"), {"c": customer_id})).scalars().all()
    assert stored == [1, 2]
