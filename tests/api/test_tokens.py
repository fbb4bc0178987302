"""Bearer tokens: only well-formed, correctly signed, current tokens for this service get in."""

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from app.core.errors import Unauthenticated
from app.core.security import Actor, TokenVerifier
from app.policy.roles import Role

URL = "/v1/customers/00000000-0000-0000-0000-000000000000"
PURPOSE = {"X-Purpose": "service"}
DROP = object()


def claims(settings, **overrides) -> dict:
    """Valid claims for a support agent, with overrides (DROP removes a claim)."""
    now = int(time.time())
    base = {"sub": "agent-7", "role": "support_agent", "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience, "iat": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


def hs256(settings, secret: str | None = None, **overrides) -> str:
    secret = secret or settings.jwt_secret.get_secret_value()
    return jwt.encode(claims(settings, **overrides), secret, algorithm="HS256")


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(settings) -> str:
    """An `alg: none` token, built by hand (JOSE libraries refuse to make one)."""
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims(settings))}."


def hmac_signed(settings, secret: bytes, **header) -> str:
    """An HS256 token built by hand, so any bytes (even a public key) can be the secret."""
    head = b64url({"alg": "HS256", "typ": "JWT", **header})
    signing_input = f"{head}.{b64url(claims(settings))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    return {**jwk.construct(public_pem(key), "RS256").to_dict(), "kid": kid, "use": "sig"}


def rs256(settings, key: rsa.RSAPrivateKey, kid: object = "k1", **overrides) -> str:
    return jwt.encode(claims(settings, **overrides), private_pem(key), algorithm="RS256",
                      headers={"kid": kid})


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa_key()


async def call(client, token: str | None, scheme: str = "Bearer") -> httpx.Response:
    headers = dict(PURPOSE)
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    return await client.get(URL, headers=headers)


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthenticated"


async def test_a_valid_token_gets_past_authentication(client, settings):
    response = await call(client, hs256(settings))
    assert response.status_code == 404  # authenticated; the customer just does not exist
    assert response.json()["code"] == "customer_not_found"
    by_hand = await call(client, hmac_signed(settings, settings.jwt_secret.get_secret_value()
                                             .encode()))
    assert by_hand.status_code == 404  # so the hand-built tokens below fail for their reason


async def test_no_authorization_header(client):
    assert_unauthenticated(await call(client, None))


async def test_basic_credentials_are_not_a_bearer_token(client):
    assert_unauthenticated(await call(client, "dXNlcjpwYXNz", scheme="Basic"))


BAD_HS256 = {
    "wrong_audience": {"aud": "someone-else"},
    "wrong_issuer": {"iss": "https://evil.example"},
    "expired": {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
    "missing_exp": {"exp": DROP},
    "missing_iat": {"iat": DROP},
    "missing_aud": {"aud": DROP},
    "missing_iss": {"iss": DROP},
    "missing_sub": {"sub": DROP},
    "empty_sub": {"sub": ""},
    "numeric_sub": {"sub": 42},
    "unknown_role": {"role": "superuser"},
    "missing_role": {"role": DROP},
    "logistics_without_partner_id": {"role": "logistics_partner"},
    "payment_without_partner_id": {"role": "payment_partner"},
    "payment_with_empty_partner_id": {"role": "payment_partner", "partner_id": ""},
    "not_yet_valid": {"nbf": int(time.time()) + 3600},
}


@pytest.mark.parametrize("overrides", BAD_HS256.values(), ids=BAD_HS256.keys())
async def test_bad_claims_are_401(client, settings, overrides):
    assert_unauthenticated(await call(client, hs256(settings, **overrides)))


async def test_partner_id_must_be_a_string(client, settings):
    token = hs256(settings, role="logistics_partner", partner_id=42)
    response = await client.get("/v1/orders", headers={"Authorization": f"Bearer {token}",
                                                       "X-Purpose": "delivery"})
    assert_unauthenticated(response)


async def test_alg_none_is_401(client, settings):
    assert_unauthenticated(await call(client, unsigned(settings)))


async def test_signed_with_another_secret_is_401(client, settings):
    assert_unauthenticated(await call(client, hs256(settings, secret="not-the-real-secret")))


async def test_rs256_token_when_hs256_is_pinned_is_401(client, settings, signing_key):
    assert_unauthenticated(await call(client, rs256(settings, signing_key)))


async def test_tampered_payload_is_401(client, settings):
    header, _, signature = hs256(settings).split(".")
    forged = b64url(claims(settings, role="privacy_officer"))
    assert_unauthenticated(await call(client, f"{header}.{forged}.{signature}"))


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "....", "Bearer", "e30.e30.e30",
                                   f"{b64url(['alg'])}.{b64url({})}.sig"])
async def test_malformed_tokens_are_401(client, token):
    assert_unauthenticated(await call(client, token))


async def test_error_detail_does_not_echo_the_token(client, settings):
    token = hs256(settings, aud="someone-else")
    response = await call(client, token)
    assert token not in response.text


# RS256 against a JWKS URL, fetched with httpx and cached.

JWKS_URL = "https://idp.test/jwks"


class Idp:
    """A JWKS endpoint on an httpx MockTransport that counts its calls."""

    def __init__(self, *keys: dict, status: int = 200) -> None:
        self.keys, self.status, self.calls = list(keys), status, 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.calls += 1
        if self.status != 200:
            return httpx.Response(self.status)
        return httpx.Response(200, json={"keys": self.keys})


@pytest.fixture
def rs256_settings(settings):
    return settings.model_copy(update={"jwt_algorithm": "RS256", "jwt_jwks_url": JWKS_URL})


@pytest.fixture
async def make_verifier(rs256_settings):
    clients = []

    def make(idp: Idp, **updates) -> TokenVerifier:
        http = httpx.AsyncClient(transport=httpx.MockTransport(idp.handler))
        clients.append(http)
        return TokenVerifier(rs256_settings.model_copy(update=updates), http)

    yield make
    for http in clients:
        await http.aclose()


async def test_rs256_good_token_passes(make_verifier, settings, signing_key):
    verifier = make_verifier(Idp(public_jwk(signing_key, "k1")))
    actor = await verifier.verify(rs256(settings, signing_key, role="logistics_partner",
                                        partner_id="swiftship", sub="carrier-bot"))
    assert actor == Actor(sub="carrier-bot", role=Role.LOGISTICS_PARTNER,
                          partner_id="swiftship")


async def test_rs256_jwks_is_cached(make_verifier, settings, signing_key):
    idp = Idp(public_jwk(signing_key, "k1"))
    verifier = make_verifier(idp)
    for _ in range(3):
        await verifier.verify(rs256(settings, signing_key))
    assert idp.calls == 1


async def test_rs256_cache_expires_after_its_ttl(make_verifier, settings, signing_key,
                                                 monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("app.core.security.time.monotonic", lambda: clock[0])
    idp = Idp(public_jwk(signing_key, "k1"))
    verifier = make_verifier(idp, jwks_cache_seconds=60)
    await verifier.verify(rs256(settings, signing_key, sub="first"))
    clock[0] += 59
    await verifier.verify(rs256(settings, signing_key, sub="second"))
    assert idp.calls == 1
    clock[0] += 2
    await verifier.verify(rs256(settings, signing_key, sub="third"))
    assert idp.calls == 2


async def test_a_verified_token_is_remembered_until_it_expires(make_verifier, settings,
                                                               signing_key, monkeypatch):
    idp = Idp(public_jwk(signing_key, "k1"))
    verifier = make_verifier(idp, jwks_cache_seconds=0)
    token = rs256(settings, signing_key)
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    assert idp.calls == 1
    past_expiry = time.time() + 601
    monkeypatch.setattr("app.core.security.time.time", lambda: past_expiry)
    await verifier.verify(token)
    assert idp.calls == 2  # past its exp the token is checked again, not taken from memory


async def test_rs256_unknown_kid_fails_after_one_refetch(make_verifier, settings, signing_key):
    idp = Idp(public_jwk(signing_key, "k1"))
    verifier = make_verifier(idp)
    await verifier.verify(rs256(settings, signing_key))
    with pytest.raises(Unauthenticated):
        await verifier.verify(rs256(settings, signing_key, kid="k-unknown"))
    assert idp.calls == 2


async def test_rs256_rotated_key_is_picked_up(make_verifier, settings, signing_key):
    idp = Idp(public_jwk(signing_key, "k1"))
    verifier = make_verifier(idp)
    await verifier.verify(rs256(settings, signing_key))
    new_key = rsa_key()
    idp.keys.append(public_jwk(new_key, "k2"))
    actor = await verifier.verify(rs256(settings, new_key, kid="k2"))
    assert actor.sub == "agent-7"
    assert idp.calls == 2


async def test_rs256_signed_by_another_key_with_a_known_kid_fails(make_verifier, settings,
                                                                  signing_key):
    verifier = make_verifier(Idp(public_jwk(signing_key, "k1")))
    with pytest.raises(Unauthenticated):
        await verifier.verify(rs256(settings, rsa_key(), kid="k1"))


@pytest.mark.parametrize("overrides", [{"aud": "someone-else"}, {"iss": "evil"},
                                       {"exp": DROP}, {"exp": int(time.time()) - 60}],
                         ids=["aud", "iss", "no_exp", "expired"])
async def test_rs256_still_requires_the_claims(make_verifier, settings, signing_key, overrides):
    verifier = make_verifier(Idp(public_jwk(signing_key, "k1")))
    with pytest.raises(Unauthenticated):
        await verifier.verify(rs256(settings, signing_key, **overrides))


async def test_rs256_mode_refuses_hs256_and_none(make_verifier, settings, signing_key):
    idp = Idp(public_jwk(signing_key, "k1"))
    verifier = make_verifier(idp)
    # The classic confusion: an HS256 token "signed" with the public key as the secret.
    confused = hmac_signed(settings, public_pem(signing_key), kid="k1")
    for token in (confused, unsigned(settings), hs256(settings)):
        with pytest.raises(Unauthenticated):
            await verifier.verify(token)
    assert idp.calls == 0  # refused on the pinned algorithm, before any key is fetched


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_rs256_unreachable_jwks_is_401(make_verifier, settings, signing_key, status):
    verifier = make_verifier(Idp(public_jwk(signing_key, "k1"), status=status))
    with pytest.raises(Unauthenticated):
        await verifier.verify(rs256(settings, signing_key))


@pytest.mark.parametrize("kid", [["k1"], {"k": "k1"}], ids=["list", "object"])
async def test_rs256_non_string_kid_is_401_not_a_crash(make_verifier, settings, signing_key,
                                                        kid):
    verifier = make_verifier(Idp(public_jwk(signing_key, "k1")))
    with pytest.raises(Unauthenticated):
        await verifier.verify(rs256(settings, signing_key, kid=kid))


@pytest.mark.parametrize("document", [{"keys": "k1"}, {"keys": [1]}, [], {"keys": None}],
                         ids=["keys_string", "key_not_object", "list", "keys_null"])
async def test_rs256_malformed_jwks_is_401_not_a_crash(make_verifier, settings, signing_key,
                                                       document):
    idp = Idp()
    idp.handler = lambda request: httpx.Response(200, json=document)
    verifier = make_verifier(idp)
    with pytest.raises(Unauthenticated):
        await verifier.verify(rs256(settings, signing_key))


async def test_made_up_key_ids_refetch_the_jwks_at_most_once_a_second(
        make_verifier, settings, signing_key, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("app.core.security.time.monotonic", lambda: clock[0])
    idp = Idp(public_jwk(signing_key, "k1"))
    verifier = make_verifier(idp, jwks_cache_seconds=300)
    await verifier.verify(rs256(settings, signing_key))
    for n in range(5):
        with pytest.raises(Unauthenticated):
            await verifier.verify(rs256(settings, signing_key, kid=f"made-up-{n}"))
    assert idp.calls == 2
    clock[0] += 1
    with pytest.raises(Unauthenticated):
        await verifier.verify(rs256(settings, signing_key, kid="made-up-later"))
    assert idp.calls == 3


class _CountingVerifier:
    """Counts how often a request's token is checked."""

    def __init__(self, verifier) -> None:
        self.verifier, self.calls = verifier, 0

    async def verify(self, token: str):
        self.calls += 1
        return await self.verifier.verify(token)


async def test_a_token_is_checked_once_per_request(client, app, auth):
    """The rate limiter's check is reused by the route, for a refused token and a good one."""
    verifier = app.state.verifier
    counting = app.state.verifier = _CountingVerifier(verifier)
    try:
        forged = await client.get("/v1/customers/c-1", headers={
            "Authorization": "Bearer x.y.z", "X-Purpose": "service"})
        assert forged.status_code == 401 and counting.calls == 1
        counting.calls = 0
        listed = await client.get("/v1/requests", headers=auth("privacy_officer",
                                                               purpose="oversight"))
        assert listed.status_code == 200 and counting.calls == 1
    finally:
        app.state.verifier = verifier
