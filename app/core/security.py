"""Bearer tokens: the one module that knows the JOSE library."""

import time
from dataclasses import dataclass

import httpx
from jose import JWTError, jwt

from app.core.config import Settings
from app.core.errors import Unauthenticated
from app.policy.roles import PARTNER_ROLES, Role

DECODE_OPTIONS = {f"require_{claim}": True for claim in ("sub", "iss", "aud", "exp", "iat")}
LATEST_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z: later "times" are malformed
# Decoding untrusted input may fail in more ways than the JOSE library wraps (e.g. int(inf)).
DECODE_ERRORS = (JWTError, ValueError, TypeError, OverflowError, LookupError, AttributeError)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: the token's subject and role, and the partner it speaks for."""

    sub: str
    role: Role
    partner_id: str | None = None
    signed_in_customer: str | None = None


class JwksCache:
    """Fetches the identity provider's JWKS with httpx and keeps it for a while."""

    def __init__(self, url: str | None, http: httpx.AsyncClient | None,
                 ttl_seconds: int) -> None:
        self._url, self._http, self._ttl = url, http, ttl_seconds
        self._keys: dict[str, dict] = {}
        self._fetched_at = self._unknown_kid_fetched_at = float("-inf")

    async def key(self, kid: str | None) -> dict:
        """Return the JWK with this key id, refetching if stale or, at most once a second,
        if the key id is unknown (so made-up key ids cannot flood the identity provider)."""
        if not isinstance(kid, str | None):
            raise Unauthenticated("The token's kid header must be a string.")
        now = time.monotonic()
        if now - self._fetched_at > self._ttl:
            await self._refresh()
        elif kid not in self._keys and now - self._unknown_kid_fetched_at >= 1.0:
            self._unknown_kid_fetched_at = now
            await self._refresh()
        if kid not in self._keys:
            raise Unauthenticated("The token is signed with an unknown key.")
        return self._keys[kid]

    async def _refresh(self) -> None:
        if self._url is None or self._http is None:  # no JWKS URL configured, or no client
            raise Unauthenticated("The signing keys could not be fetched.")
        try:
            response = await self._http.get(self._url)
            response.raise_for_status()
            keys = {k["kid"]: k for k in response.json()["keys"] if isinstance(k.get("kid"), str)}
        except (httpx.HTTPError, ValueError, LookupError, TypeError, AttributeError) as exc:
            raise Unauthenticated("The signing keys could not be fetched.") from exc
        self._keys = keys
        self._fetched_at = time.monotonic()


class TokenVerifier:
    """Verifies bearer tokens with the pinned algorithm and required claims.

    A token that verified is remembered until it expires, so a client's repeated calls cost
    one dictionary look-up instead of a signature check.
    """

    CACHE_SIZE = 10_000

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._jwks = (
            JwksCache(settings.jwt_jwks_url, http, settings.jwks_cache_seconds)
            if settings.jwt_algorithm == "RS256" else None
        )
        self._max_token_bytes = settings.max_token_bytes
        self._max_lifetime = settings.jwt_max_lifetime_seconds
        self._leeway = settings.jwt_leeway_seconds
        self._verified: dict[str, tuple[Actor, int]] = {}

    async def verify(self, token: str) -> Actor:
        """Return the actor a valid token speaks for, or raise `Unauthenticated`."""
        if len(token) > self._max_token_bytes:
            raise Unauthenticated(f"Bearer tokens may be at most {self._max_token_bytes} bytes.")
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        actor, expires = await self._verify_signature(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = actor, expires
        return actor

    async def _verify_signature(self, token: str) -> tuple[Actor, int]:
        try:
            header = jwt.get_unverified_header(token)
        except DECODE_ERRORS as exc:
            raise Unauthenticated("The bearer token is malformed.") from exc
        self._check_header(header)
        key = await self._jwks.key(header.get("kid")) if self._jwks else self._secret
        try:
            claims = jwt.decode(
                token, key, algorithms=[self._algorithm], audience=self._audience,
                issuer=self._issuer, options=DECODE_OPTIONS,
            )
        except DECODE_ERRORS as exc:
            raise Unauthenticated(f"The bearer token is not valid: {exc}.") from exc
        return _actor_from_claims(claims), self._expiry(claims)

    def _check_header(self, header: dict) -> None:
        """Refuse a wrong algorithm, a `typ` other than JWT and any `crit` extension."""
        if header.get("alg") != self._algorithm:
            raise Unauthenticated(f"Tokens must be signed with {self._algorithm}.")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise Unauthenticated("The token's typ header must be JWT.")
        if "crit" in header:  # this service understands no critical extension
            raise Unauthenticated("The token names critical header extensions this service "
                                  "does not understand.")

    def _expiry(self, claims: dict) -> int:
        """The token's `exp` as an integer, after checking iat, nbf and the lifetime."""
        now = time.time()
        exp, iat = _numeric_date(claims, "exp"), _numeric_date(claims, "iat")
        if "nbf" in claims:
            _numeric_date(claims, "nbf")
        if iat > now + self._leeway:
            raise Unauthenticated("The token was issued in the future.")
        if exp - iat > self._max_lifetime:
            raise Unauthenticated(f"Tokens may live at most {self._max_lifetime} seconds.")
        return exp


def _numeric_date(claims: dict, name: str) -> int:
    """A NumericDate claim as whole seconds; strings, booleans and absurd values are refused."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(f"The token's {name} claim must be a number of seconds.")
    if not 0 <= value <= LATEST_NUMERIC_DATE:  # also false for NaN
        raise Unauthenticated(f"The token's {name} claim is out of range.")
    return int(value)


def _actor_from_claims(claims: dict) -> Actor:
    try:
        role = Role(claims.get("role", ""))  # a missing role is as unknown as ""
    except (ValueError, TypeError) as exc:
        raise Unauthenticated("The token's role is not one this service knows.") from exc
    partner_id = claims.get("partner_id")
    if role in PARTNER_ROLES and not (isinstance(partner_id, str) and partner_id):
        raise Unauthenticated("Partner tokens must carry a partner_id string claim.")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated("The token's sub claim must be a non-empty string.")
    signed_in = claims.get("signed_in_customer") if role is Role.STOREFRONT else None
    return Actor(sub=sub, role=role, partner_id=partner_id if role in PARTNER_ROLES else None,
                 signed_in_customer=signed_in if isinstance(signed_in, str) else None)


def mint_token(
    settings: Settings, *, role: Role, sub: str, partner_id: str | None = None,
    ttl_seconds: int | None = None, signed_in_customer: str | None = None,
) -> str:
    """Mint an HS256 development token."""
    if settings.jwt_algorithm != "HS256" or settings.jwt_secret is None:
        raise ValueError("dev tokens can only be minted with an HS256 secret")
    if role in PARTNER_ROLES and not partner_id:
        raise ValueError(f"role {role} needs --partner-id")
    now = int(time.time())
    claims = {
        "sub": sub, "role": str(role), "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
        "iat": now, "exp": now + (ttl_seconds or settings.dev_token_ttl_seconds),
    }
    if partner_id:
        claims["partner_id"] = partner_id
    if signed_in_customer:
        claims["signed_in_customer"] = signed_in_customer
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
