"""FastAPI dependencies: `authenticate` on every router, `require(...)` for role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bridge_shared.auth.principal import Principal, Role
from bridge_shared.auth.tokens import InvalidToken, JwksUnavailable, TokenValidator
from bridge_shared.http.problems import Problem

_bearer = HTTPBearer(auto_error=False, description="JWT issued by the enterprise identity provider")


async def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(
            401,
            "Authentication required",
            "Send an Authorization: Bearer <JWT> header.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    validator: TokenValidator = request.app.state.token_validator
    try:
        principal = await validator.validate(credentials.credentials)
    except JwksUnavailable as exc:
        # Only tokens of the identity provider need its keys; internal tokens are unaffected.
        raise Problem(
            503,
            "Identity provider unavailable",
            "The identity provider's signing keys cannot be fetched; try again shortly.",
            headers={"Retry-After": "30"},
        ) from exc
    except InvalidToken as exc:
        raise Problem(
            401,
            "Invalid token",
            _sentence(str(exc)),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc
    request.state.principal = principal
    return principal


def _sentence(reason: str) -> str:
    """InvalidToken's reason ("the token has expired") as the detail's sentence."""
    text = reason.strip() or "the token could not be verified"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Principal = Depends(authenticate)) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, "Forbidden", f"This action needs one of the roles: {', '.join(roles)}.")
        return principal

    return check


HR_ROLES = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE)
