"""Token validation with pinned algorithms, issuer and audience; and minting for development."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import jwt
from pydantic import ValidationError

from bridge_shared.auth.principal import Principal, Role


class InvalidToken(Exception):
    pass


class TokenValidator:
    def __init__(
        self,
        *,
        algorithms: list[str],
        issuer: str,
        audience: str,
        secret: str | None = None,
        public_key: str | None = None,
    ) -> None:
        if not algorithms or "none" in {a.lower() for a in algorithms}:
            raise ValueError("pin at least one real JWT algorithm")
        key = public_key if any(a.startswith(("RS", "ES", "PS", "Ed")) for a in algorithms) else secret
        if not key:
            raise ValueError("no key configured for the pinned JWT algorithms")
        self._key = key
        self.algorithms = algorithms
        self.issuer = issuer
        self.audience = audience

    def validate(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        try:
            roles = frozenset(Role(r) for r in claims.get("roles", []))
        except ValueError as exc:
            raise InvalidToken(f"unknown role in token: {exc}") from exc
        if not roles:
            raise InvalidToken("token carries no role")
        regions = claims.get("regions", [])
        if Role.HR_REGIONAL in roles and not regions:
            raise InvalidToken("hr_regional tokens must carry a regions claim")
        try:
            return Principal(
                subject=str(claims["sub"]),
                roles=roles,
                regions=frozenset(regions),
                name=claims.get("name"),
            )
        except ValidationError as exc:
            raise InvalidToken(str(exc)) from exc


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
