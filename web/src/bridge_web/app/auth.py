"""Sign-in: OpenID Connect (authorisation code with PKCE) in production, a development sign-in locally.

Production: the browser is sent to the identity provider's authorisation endpoint (from its
discovery document) with `state`, `nonce` and an S256 PKCE challenge, all kept in the session. At
`/auth/callback` the state is compared, the code is exchanged for tokens (with the PKCE verifier and
the client's credentials, through authlib's httpx client), the id_token is verified against the
issuer's published keys (signature, issuer, audience = our client id, expiry, nonce) and the access
token with the same rules as the services (bridge_shared.auth.tokens: issuer, audience, roles,
regions, lifetime). The access token is what the app forwards to the services.

Development: a token minted locally with the platform's development JWT settings, exactly what the
services accept in development (bridge_shared.auth.tokens.mint_token).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error

from bridge_shared.auth.jwks import JwksCache, JwksUnavailable, UnknownKey
from bridge_shared.auth.principal import Role
from bridge_shared.auth.tokens import InvalidToken, OidcProvider, TokenValidator, mint_token
from bridge_web.domain.i18n import normalize_locale
from bridge_web.settings import WebSettings

PENDING_SIGNIN_SECONDS = 600


class SignInFailed(Exception):
    """The sign-in could not be completed; the message says why (shown to the person)."""


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, as the session keeps it."""

    subject: str
    name: str | None
    roles: tuple[str, ...]
    regions: tuple[str, ...]
    locale: str | None
    access_token: str
    expires_at: int
    via: str  # "oidc" or "development"
    id_token: str | None = None  # the IdP's, kept for sign-out's id_token_hint

    def to_session(self) -> dict[str, Any]:
        return {
            "sub": self.subject,
            "name": self.name,
            "roles": list(self.roles),
            "regions": list(self.regions),
            "locale": self.locale,
            "token": self.access_token,
            "exp": self.expires_at,
            "via": self.via,
            **({"id_token": self.id_token} if self.id_token else {}),
        }


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in: never another site (no scheme, no `//`, no `\\`)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x20 for c in value):
        return "/"
    return value


# --- Development sign-in -----------------------------------------------------------------------------


def dev_sign_in(
    settings: WebSettings,
    *,
    role: str,
    employee_id: str | None = None,
    region: str | None = None,
    name: str | None = None,
    locale: str | None = None,
) -> SignedIn:
    """A development token for an HR role or a participant. Raises SignInFailed for a bad choice."""
    if not settings.dev_signin_enabled or settings.jwt_secret is None:
        raise SignInFailed("The development sign-in is not available here.")
    regions: tuple[str, ...] = ()
    display: str | None
    if role == Role.HR_ADMIN:
        subject, roles, display = "dev-hr-admin", (Role.HR_ADMIN.value,), name or "Dev HR Admin"
    elif role == Role.HR_REGIONAL:
        if not region or region not in settings.dev_regions:
            raise SignInFailed("Choose a region for regional HR.")
        subject, roles, regions = f"dev-hr-{region.lower()}", (Role.HR_REGIONAL.value,), (region,)
        display = name or f"Dev HR {region}"
    elif role == Role.PARTICIPANT:
        subject = (employee_id or "").strip()
        if not subject or len(subject) > 256 or any(ord(c) < 0x20 for c in subject):
            raise SignInFailed("Enter an employee id.")
        person = next((p for p in settings.dev_people if p.employee_id == subject), None)
        roles, display = (Role.PARTICIPANT.value,), name or (person.name if person else None)
        locale = locale or (person.locale if person else None)
    else:
        raise SignInFailed("Choose a role.")
    token = mint_token(
        secret=settings.jwt_secret.get_secret_value(),
        subject=subject,
        roles=roles,
        regions=regions,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        name=display,
        ttl_seconds=settings.dev_token_ttl_seconds,
    )
    return SignedIn(
        subject=subject,
        name=display,
        roles=roles,
        regions=regions,
        locale=normalize_locale(locale),
        access_token=token,
        expires_at=int(time.time()) + settings.dev_token_ttl_seconds,
        via="development",
    )


# --- OpenID Connect ---------------------------------------------------------------------------------


class OidcClient:
    """The relying party: discovery, the authorisation request, the callback, sign-out."""

    def __init__(self, settings: WebSettings, http: httpx.AsyncClient) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OidcClient needs oidc_issuer and oidc_client_id")
        self.settings = settings
        self.issuer: str = settings.oidc_issuer
        self.client_id: str = settings.oidc_client_id
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self.jwks = JwksCache(
            issuer=settings.oidc_issuer,
            jwks_url=settings.oidc_jwks_url,
            timeout_seconds=settings.oidc_http_timeout_seconds,
        )
        self.access_tokens = TokenValidator(
            algorithms=[],
            issuer=settings.oidc_issuer,
            audience=settings.access_token_audience,
            oidc=OidcProvider(
                issuer=settings.oidc_issuer,
                audience=settings.access_token_audience,
                jwks=self.jwks,
                algorithms=frozenset(settings.oidc_algorithms),
                subject_claim=settings.oidc_subject_claim,
                roles_claim=settings.oidc_roles_claim,
                regions_claim=settings.oidc_regions_claim,
                name_claim=settings.oidc_name_claim,
            ),
        )

    async def metadata(self) -> dict[str, Any]:
        """The issuer's discovery document (cached for an hour); its `issuer` must be ours."""
        if self._metadata is None or time.monotonic() - self._metadata_at > 3600:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            try:
                response = await self._http.get(url, timeout=self.settings.oidc_http_timeout_seconds)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise SignInFailed("The identity provider cannot be reached; try again shortly.") from exc
            if not isinstance(document, dict) or document.get("issuer") != self.settings.oidc_issuer:
                raise SignInFailed("The identity provider's discovery document names another issuer.")
            for key in ("authorization_endpoint", "token_endpoint"):
                if not isinstance(document.get(key), str):
                    raise SignInFailed(f"The identity provider's discovery document has no {key}.")
            self._metadata, self._metadata_at = document, time.monotonic()
        return self._metadata

    def _client(self) -> AsyncOAuth2Client:
        secret = self.settings.oidc_client_secret
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=secret.get_secret_value() if secret else None,
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            scope=self.settings.oidc_scopes,
            redirect_uri=self.settings.redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.oidc_http_timeout_seconds,
        )

    async def start(self, next_path: str, *, locale: str | None = None) -> tuple[str, dict[str, Any]]:
        """The authorisation URL to send the browser to, and what the session keeps until the callback."""
        metadata = await self.metadata()
        pending: dict[str, Any] = {
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "verifier": secrets.token_urlsafe(64),
            "next": safe_next(next_path),
            "at": int(time.time()),
        }
        extra: dict[str, str] = {"nonce": str(pending["nonce"])}
        if locale:
            extra["ui_locales"] = locale
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=pending["state"],
                code_verifier=pending["verifier"],
                **extra,
            )
        return str(url), pending

    async def finish(self, params: dict[str, str], pending: dict[str, Any] | None) -> tuple[SignedIn, str]:
        """Completes the sign-in from the callback's query; returns who signed in and where to go."""
        if not pending or int(time.time()) - int(pending.get("at", 0)) > PENDING_SIGNIN_SECONDS:
            raise SignInFailed("This sign-in has expired or was started elsewhere; please sign in again.")
        if not secrets.compare_digest(str(params.get("state", "")), str(pending["state"])):
            raise SignInFailed("The sign-in answer does not match the request (state); please sign in again.")
        if "error" in params:
            raise SignInFailed(
                f"The identity provider refused the sign-in ({params['error'][:100]}); please try again."
            )
        code = params.get("code")
        if not code:
            raise SignInFailed("The identity provider sent no authorisation code.")
        metadata = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending["verifier"],
                    redirect_uri=self.settings.redirect_uri,
                )
            except (OAuthError, OAuth2Error, httpx.HTTPError, ValueError) as exc:
                raise SignInFailed("The identity provider did not exchange the code for tokens.") from exc
        id_token, access_token = token.get("id_token"), token.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise SignInFailed("The identity provider's answer lacks an id_token or access_token.")
        id_claims = await self._verify_id_token(id_token, str(pending["nonce"]))
        try:
            principal = await self.access_tokens.validate(access_token)
        except (InvalidToken, JwksUnavailable) as exc:
            raise SignInFailed(f"Your access token is not accepted by Bridge: {exc}.") from exc
        access_claims = jwt.decode(access_token, options={"verify_signature": False})
        locale_claim = self.settings.oidc_locale_claim
        locale = access_claims.get(locale_claim) or id_claims.get(locale_claim)
        name = principal.name or id_claims.get(self.settings.oidc_name_claim)
        signed_in = SignedIn(
            subject=principal.subject,
            name=name if isinstance(name, str) else None,
            roles=tuple(sorted(r.value for r in principal.roles)),
            regions=tuple(sorted(principal.regions)),
            locale=normalize_locale(locale if isinstance(locale, str) else None),
            access_token=access_token,
            expires_at=int(access_claims["exp"]),
            via="oidc",
            id_token=id_token,
        )
        return signed_in, safe_next(str(pending.get("next") or "/"))

    async def _verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
            alg = header.get("alg")
            if alg not in self.settings.oidc_algorithms:
                raise SignInFailed("The id_token is signed with an algorithm that is not allowed.")
            key = await self.jwks.key(header.get("kid"), str(alg))
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[str(alg)],
                issuer=self.settings.oidc_issuer,
                audience=self.client_id,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except (jwt.PyJWTError, UnknownKey) as exc:
            raise SignInFailed("The identity provider's id_token does not verify.") from exc
        except JwksUnavailable as exc:
            raise SignInFailed("The identity provider's keys cannot be fetched; try again shortly.") from exc
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("The id_token was not issued for this sign-in (nonce); please sign in again.")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInFailed("The id_token was issued to another client (azp).")
        return claims

    async def end_session_url(
        self, post_logout_redirect: str, id_token_hint: str | None = None
    ) -> str | None:
        """The identity provider's sign-out address, when it publishes one (RP-initiated logout: the
        id_token it issued as `id_token_hint`, so it knows whose session to end without asking)."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except SignInFailed:
            return None
        if not isinstance(endpoint, str):
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        query = urlencode(params)
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
