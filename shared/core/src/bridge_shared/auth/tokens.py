"""Token validation: typed claims, a maximum lifetime, and two kinds of issuer; minting for development.

* **Internal tokens** (service tokens, development): HS256 with the shared secret (or an algorithm
  pinned with `jwt_public_key`), issuer `jwt_issuer`, audience `jwt_audience`.
* **Enterprise sign-in** (OIDC): RS256/ES256 tokens of the company's identity provider, verified
  with its published keys (`bridge_shared.auth.jwks`), its issuer and the audience Bridge has there.

The path is chosen from the token header's `alg` before anything is verified: an HMAC algorithm is
only ever verified with the shared secret, an asymmetric one only with a public key (never the
other way round: no algorithm confusion). An asymmetric token whose (unverified) `iss` is the
identity provider's goes to its keys; then the signature, issuer and audience are checked.

Claims are parsed with `TokenClaims`: anything of the wrong type or size is `InvalidToken` (401).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints, ValidationError

from bridge_shared.auth.jwks import JwksCache, JwksUnavailable, UnknownKey
from bridge_shared.auth.principal import Principal, Role

if TYPE_CHECKING:
    from bridge_shared.settings import ServiceSettings

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_MAX_LIFETIME_SECONDS",
    "HMAC_ALGORITHMS",
    "InvalidToken",
    "JwksUnavailable",
    "OidcProvider",
    "TokenClaims",
    "TokenValidator",
    "mint_token",
]

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_MAX_LIFETIME_SECONDS = 12 * 3600
DEFAULT_LEEWAY_SECONDS = 30
SUBJECT_MAX = 256
NAME_MAX = 200
REGION_MAX = 64
MAX_ROLES = 16
MAX_REGIONS = 64
# One line, no control characters, at least one visible character.
_ONE_LINE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


class InvalidToken(Exception):
    """Why a token was refused, as a sentence for the caller (the 401's detail): never a library's
    or a decoder's own message (`_reason` translates PyJWT's errors)."""


# PyJWT's errors in the platform's words, most specific first (several are subclasses of others).
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired (exp); get a new one"),
    (jwt.ImmatureSignatureError, "the token is not valid yet (its iat or nbf is in the future)"),
    (jwt.InvalidIssuedAtError, "the token's issued-at time (iat) is not a valid timestamp"),
    (jwt.InvalidIssuerError, "the token's issuer (iss) is not accepted by this service"),
    (jwt.InvalidAudienceError, "the token's audience (aud) is not accepted by this service"),
    (jwt.exceptions.InvalidSubjectError, "the token's subject (sub) is not a string"),
    (jwt.InvalidAlgorithmError, "the token's algorithm (alg) is not allowed"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.DecodeError, "the token is not a well-formed JWT (three base64url parts: header.payload.signature)"),
    (jwt.InvalidKeyError, "the token cannot be verified with this service's keys"),
)


def _reason(exc: jwt.PyJWTError) -> str:
    """What is wrong with the token, in the platform's words rather than PyJWT's (whose messages
    can carry decoder internals such as "'utf-8' codec can't decode byte 0xb7")."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token lacks the required claim {exc.claim!r}"
    return next(
        (reason for kind, reason in _REASONS if isinstance(exc, kind)), "the token could not be verified"
    )


class TokenClaims(BaseModel):
    """The claims Bridge reads, typed and bounded. Nothing is coerced: `"regions": "EMEA"` or
    `"regions": 7` is refused, not read as three regions or as a number."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: Annotated[StrictStr, StringConstraints(min_length=1, max_length=SUBJECT_MAX, pattern=_ONE_LINE)]
    roles: Annotated[
        list[Annotated[StrictStr, StringConstraints(max_length=64)]], Field(max_length=MAX_ROLES)
    ] = []
    regions: Annotated[
        list[Annotated[StrictStr, StringConstraints(min_length=1, max_length=REGION_MAX, pattern=_ONE_LINE)]],
        Field(max_length=MAX_REGIONS),
    ] = []
    name: (
        Annotated[StrictStr, StringConstraints(max_length=NAME_MAX, pattern=r"^[^\x00-\x1f\x7f]*$")] | None
    ) = None
    iat: StrictInt
    exp: StrictInt
    nbf: StrictInt | None = None


@dataclass(frozen=True)
class OidcProvider:
    """The company's identity provider: whose tokens, for which audience, checked with which keys."""

    issuer: str
    audience: str
    jwks: JwksCache
    algorithms: frozenset[str] = frozenset({"RS256", "ES256"})
    subject_claim: str = "sub"
    roles_claim: str = "roles"
    regions_claim: str = "regions"
    name_claim: str = "name"

    def __post_init__(self) -> None:
        if not self.algorithms or not self.algorithms <= ASYMMETRIC_ALGORITHMS:
            allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(f"identity provider algorithms must be asymmetric ({allowed})")


class TokenValidator:
    def __init__(
        self,
        *,
        algorithms: list[str],
        issuer: str,
        audience: str,
        secret: str | None = None,
        public_key: str | None = None,
        max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        oidc: OidcProvider | None = None,
    ) -> None:
        pinned = set(algorithms)
        if "none" in {a.lower() for a in pinned}:
            raise ValueError("pin at least one real JWT algorithm")
        unknown = pinned - HMAC_ALGORITHMS - ASYMMETRIC_ALGORITHMS
        if unknown:
            raise ValueError(f"unknown JWT algorithms: {', '.join(sorted(unknown))}")
        if not pinned and oidc is None:
            raise ValueError("pin at least one real JWT algorithm")
        if pinned & HMAC_ALGORITHMS and not secret and oidc is None:
            raise ValueError("no key configured for the pinned JWT algorithms (HMAC needs jwt_secret)")
        if pinned & ASYMMETRIC_ALGORITHMS and not public_key:
            raise ValueError("no key configured for the pinned JWT algorithms (jwt_public_key)")
        # Without a secret (production with enterprise sign-in only) no HMAC token is accepted.
        self._hmac = frozenset(pinned & HMAC_ALGORITHMS) if secret else frozenset()
        self._asymmetric = frozenset(pinned & ASYMMETRIC_ALGORITHMS)
        self._secret = secret
        self._public_key = public_key
        self.algorithms = sorted(self._hmac | self._asymmetric)
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime_seconds = max_lifetime_seconds
        self.leeway_seconds = leeway_seconds
        self.oidc = oidc

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenValidator:
        oidc = None
        if settings.oidc_issuer and settings.oidc_audience:
            oidc = OidcProvider(
                issuer=settings.oidc_issuer,
                audience=settings.oidc_audience,
                jwks=JwksCache(
                    issuer=settings.oidc_issuer,
                    jwks_url=settings.oidc_jwks_url,
                    refresh_seconds=settings.oidc_jwks_refresh_seconds,
                    min_refetch_seconds=settings.oidc_jwks_min_refetch_seconds,
                    timeout_seconds=settings.oidc_http_timeout_seconds,
                ),
                algorithms=frozenset(settings.oidc_algorithms),
                subject_claim=settings.oidc_subject_claim,
                roles_claim=settings.oidc_roles_claim,
                regions_claim=settings.oidc_regions_claim,
                name_claim=settings.oidc_name_claim,
            )
        return cls(
            algorithms=settings.jwt_algorithms,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            secret=settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
            public_key=settings.jwt_public_key,
            max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
            leeway_seconds=settings.jwt_leeway_seconds,
            oidc=oidc,
        )

    async def validate(self, token: str) -> Principal:
        """The caller's principal. Raises InvalidToken (401) or JwksUnavailable (503)."""
        alg = _header(token).get("alg")
        if not isinstance(alg, str):
            raise InvalidToken("the token header names no algorithm (alg)")
        if (
            alg in ASYMMETRIC_ALGORITHMS
            and self.oidc is not None
            and _unverified_issuer(token) == self.oidc.issuer
        ):
            return await self._validate_oidc(token, alg, self.oidc)
        return self.validate_internal(token)

    def validate_internal(self, token: str) -> Principal:
        """An internal token (shared secret or pinned public key); no I/O. Raises InvalidToken."""
        alg = _header(token).get("alg")
        if alg in self._hmac:
            key: str | None = self._secret
        elif alg in self._asymmetric:
            key = self._public_key
        else:
            raise InvalidToken(f"the algorithm {alg!r} is not allowed")
        claims = self._decode(token, key, str(alg), issuer=self.issuer, audience=self.audience, subject="sub")
        return self._principal(claims, subject="sub", roles="roles", regions="regions", name="name")

    async def _validate_oidc(self, token: str, alg: str, oidc: OidcProvider) -> Principal:
        if alg not in oidc.algorithms:
            raise InvalidToken(f"the algorithm {alg!r} is not allowed for {oidc.issuer}")
        kid = _header(token).get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token's key id (kid) is not a string")
        try:
            key = await oidc.jwks.key(kid, alg)
        except UnknownKey as exc:
            raise InvalidToken(str(exc)) from exc
        claims = self._decode(
            token, key, alg, issuer=oidc.issuer, audience=oidc.audience, subject=oidc.subject_claim
        )
        return self._principal(
            claims,
            subject=oidc.subject_claim,
            roles=oidc.roles_claim,
            regions=oidc.regions_claim,
            name=oidc.name_claim,
        )

    def _decode(
        self, token: str, key: Any, alg: str, *, issuer: str, audience: str, subject: str
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=issuer,
                audience=audience,
                options={"require": ["exp", "iat", "iss", "aud", subject]},
                leeway=self.leeway_seconds,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(_reason(exc)) from exc
        return claims

    def _principal(
        self, claims: dict[str, Any], *, subject: str, roles: str, regions: str, name: str
    ) -> Principal:
        raw = {
            "sub": claims.get(subject),
            "roles": claims.get(roles, []),
            "regions": claims.get(regions, []),
            "name": claims.get(name),
            "iat": claims.get("iat"),
            "exp": claims.get("exp"),
            "nbf": claims.get("nbf"),
        }
        try:
            typed = TokenClaims.model_validate({k: v for k, v in raw.items() if v is not None})
        except ValidationError as exc:
            raise InvalidToken(
                _claim_errors(exc, {"sub": subject, "roles": roles, "regions": regions, "name": name})
            ) from exc
        now = int(time.time())
        if typed.iat > now + self.leeway_seconds:
            raise InvalidToken("the token was issued in the future (iat)")
        lifetime = typed.exp - typed.iat
        if lifetime > self.max_lifetime_seconds:
            raise InvalidToken(
                f"the token's lifetime ({lifetime} s from iat to exp) exceeds the maximum of "
                f"{self.max_lifetime_seconds} s"
            )
        known = {r.value for r in Role}
        unknown = sorted(set(typed.roles) - known)
        if unknown:
            raise InvalidToken(f"unknown role in token: {', '.join(map(repr, unknown))}")
        role_set = frozenset(Role(r) for r in typed.roles)
        if not role_set:
            raise InvalidToken("token carries no role")
        if Role.HR_REGIONAL in role_set and not typed.regions:
            raise InvalidToken("hr_regional tokens must carry a regions claim")
        return Principal(subject=typed.sub, roles=role_set, regions=frozenset(typed.regions), name=typed.name)


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(_reason(exc)) from exc


def _unverified_issuer(token: str) -> object:
    """Only to choose which keys to verify with; the verified issuer is checked after."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError as exc:
        raise InvalidToken(_reason(exc)) from exc


def _claim_errors(exc: ValidationError, names: dict[str, str]) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error["loc"]]
        if loc:
            loc[0] = names.get(loc[0], loc[0])
        parts.append(f"claim {'.'.join(loc)!r}: {error['msg']}")
    return "invalid token claims: " + "; ".join(parts)


def mint_token(
    *,
    secret: str,
    subject: str,
    roles: Iterable[str],
    issuer: str,
    audience: str,
    regions: Iterable[str] = (),
    name: str | None = None,
    ttl_seconds: int = 8 * 3600,
    algorithm: str = "HS256",
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": sorted(roles),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if regions:
        claims["regions"] = sorted(regions)
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm=algorithm)
