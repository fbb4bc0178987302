"""Malformed claims and headers are 401, never 500, also when the same token comes back."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from tests.api.test_tokens import DROP, PURPOSE, URL, claims

NOW = int(time.time())
DAY = 86_400


def signed(settings, header: dict | None = None, **overrides) -> str:
    """An HS256 token built by hand, so headers and claims can be anything JSON allows."""

    def part(data: dict) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    fields = {"alg": "HS256", "typ": "JWT"} | (header or {})
    head = part({k: v for k, v in fields.items() if v is not DROP})
    signing_input = f"{head}.{part(claims(settings, **overrides))}"
    secret = settings.jwt_secret.get_secret_value().encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


async def _status_twice(client, token: str) -> list[int]:
    """Statuses of two calls with one token: the second goes through the verified-token cache."""
    headers = {"Authorization": f"Bearer {token}"} | PURPOSE
    return [(await client.get(URL, headers=headers)).status_code for _ in range(2)]


@pytest.mark.parametrize("overrides", [
    {"exp": str(NOW + 600)},
    {"exp": f"{NOW + 600}.5"},
    {"exp": 10 ** 30},
    {"exp": float("inf")},
    {"exp": float("nan")},
    {"exp": True},
    {"exp": [NOW + 600]},
    {"iat": str(NOW)},
    {"iat": -1},
    {"iat": {"t": NOW}},
    {"nbf": "soon"},
    {"nbf": 10 ** 30},
    {"sub": 7},
    {"sub": ["agent-7"]},
    {"sub": ""},
    {"role": ["support_agent"]},
    {"role": {"r": 1}},
    {"aud": 5},
    {"iss": None},
    {"exp": DROP},
    {"iat": DROP},
], ids=repr)
async def test_malformed_claims_are_401_on_first_use_and_on_reuse(client, settings, overrides):
    assert await _status_twice(client, signed(settings, **overrides)) == [401, 401]


@pytest.mark.parametrize("header", [
    {"typ": "JWE"}, {"typ": 1}, {"crit": ["exp"]}, {"crit": ["b64"], "b64": False},
], ids=repr)
async def test_unexpected_headers_are_401(client, settings, header):
    assert await _status_twice(client, signed(settings, header)) == [401, 401]


async def test_missing_typ_and_lowercase_jwt_are_accepted(client, settings):
    """`typ` is optional (RFC 7519), and its value is case-insensitive: the token gets in
    (404 for the unknown customer, not 401)."""
    assert await _status_twice(client, signed(settings, {"typ": DROP})) == [404, 404]
    assert await _status_twice(client, signed(settings, {"typ": "jwt"})) == [404, 404]


async def test_iat_in_the_future_beyond_the_leeway_is_401(client, settings):
    now = int(time.time())  # not the import time: a long suite reaches this test minutes later
    soon = signed(settings, iat=now + settings.jwt_leeway_seconds // 2, exp=now + 600)
    later = signed(settings, iat=now + 600, exp=now + 1200)
    assert await _status_twice(client, soon) == [404, 404]
    assert await _status_twice(client, later) == [401, 401]


async def test_lifetimes_above_the_maximum_are_401(client, settings):
    longest = settings.jwt_max_lifetime_seconds
    assert await _status_twice(client, signed(settings, iat=NOW, exp=NOW + longest)) == [
        404, 404]
    too_long = signed(settings, iat=NOW, exp=NOW + longest + 1)
    assert await _status_twice(client, too_long) == [401, 401]


async def test_floats_within_range_are_whole_seconds(client, settings):
    """NumericDate may carry fractions (RFC 7519); a sane fractional time is accepted."""
    now = int(time.time())
    assert await _status_twice(client, signed(settings, iat=now + 0.5, exp=now + 600.5)) == [
        404, 404]


async def test_tokens_above_the_size_bound_are_401(client, settings):
    padded = signed(settings, padding="x" * settings.max_token_bytes)
    response = await client.get(URL, headers={"Authorization": f"Bearer {padded}"} | PURPOSE)
    assert response.status_code == 401
    assert response.json()["code"] == "token_too_large"
