"""A small OpenID Connect provider for the tests, speaking the real protocol over real HTTP.

Discovery, a JWKS with an RSA key, /authorize (authorisation code bound to the client, the
redirect_uri, the PKCE S256 challenge and the nonce; it signs in `provider.user` without a login
form), /token (client authentication, the code used once, the redirect_uri and the PKCE verifier
checked), RS256 id_token (iss, aud = client id, sub, nonce) and access token (iss, aud = the API
audience, sub, roles, regions, name), /userinfo and an end_session endpoint (RP-initiated logout: an
`id_token_hint` must be an id_token this provider signed for the `client_id` sent; whose session
ended is kept in `ended_subjects`). Test knobs:
`wrong_nonce` makes the next id_token carry another nonce.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bridge_devstack.ports import free_port


@dataclass
class Client:
    client_id: str
    secret: str | None
    redirect_uris: tuple[str, ...]


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    scope: str
    user: dict[str, Any]
    issued_at: float
    used: bool = False


@dataclass
class OidcProvider:
    audience: str = "bridge-api"
    port: int = field(default_factory=free_port)
    clients: dict[str, Client] = field(default_factory=dict)
    user: dict[str, Any] = field(
        default_factory=lambda: {"sub": "E1001", "roles": ["participant"], "name": "Test Person"}
    )
    wrong_nonce: bool = False
    token_ttl: int = 3600
    kid: str = "test-key-1"
    grants: dict[str, _Grant] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    end_session_calls: list[dict[str, str]] = field(default_factory=list)
    ended_subjects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def register(self, client_id: str, secret: str | None, redirect_uri: str) -> Client:
        client = Client(client_id, secret, (redirect_uri,))
        self.clients[client_id] = client
        return client

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    # --- endpoints -------------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "end_session_endpoint": f"{base}/logout",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "scopes_supported": ["openid", "profile", "email"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        if client is None or q.get("redirect_uri") not in client.redirect_uris:
            # Never redirect to an unregistered address: an error page here.
            return JSONResponse({"error": "invalid_request", "error_description": "unknown client"}, 400)
        redirect = q["redirect_uri"]

        def fail(error: str) -> Response:
            return RedirectResponse(
                f"{redirect}?{urlencode({'error': error, 'state': q.get('state', '')})}", 302
            )

        if q.get("response_type") != "code":
            return fail("unsupported_response_type")
        if "openid" not in q.get("scope", "").split():
            return fail("invalid_scope")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return fail("invalid_request")  # this provider requires PKCE S256
        code = secrets.token_urlsafe(32)
        self.grants[code] = _Grant(
            client_id=client.client_id,
            redirect_uri=redirect,
            challenge=q["code_challenge"],
            nonce=q.get("nonce"),
            scope=q["scope"],
            user=dict(self.user),
            issued_at=time.time(),
        )
        return RedirectResponse(f"{redirect}?{urlencode({'code': code, 'state': q.get('state', '')})}", 302)

    def _client_auth(self, request: Request, form: dict[str, str]) -> Client | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.clients.get(client_id)
        if client is None:
            return None
        if client.secret is not None and not secrets.compare_digest(client.secret, secret):
            return None
        return client

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        client = self._client_auth(request, form)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.client_id != client.client_id or time.time() - grant.issued_at > 60:
            return JSONResponse({"error": "invalid_grant", "error_description": "unknown code"}, 400)
        if grant.used:
            return JSONResponse({"error": "invalid_grant", "error_description": "code already used"}, 400)
        grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or not secrets.compare_digest(challenge, grant.challenge):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400
            )
        now = int(time.time())
        user = grant.user
        id_claims = {
            "iss": self.issuer,
            "aud": client.client_id,
            "sub": user["sub"],
            "iat": now,
            "exp": now + self.token_ttl,
            "nonce": "not-the-nonce-you-sent" if self.wrong_nonce else grant.nonce,
            "name": user.get("name"),
        }
        if user.get("locale"):
            id_claims["locale"] = user["locale"]
        access_claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user["sub"],
            "iat": now,
            "exp": now + self.token_ttl,
            "jti": str(uuid.uuid4()),
            "roles": user.get("roles", []),
            "name": user.get("name"),
            "scope": grant.scope,
        }
        if user.get("regions"):
            access_claims["regions"] = user["regions"]
        return JSONResponse(
            {
                "access_token": self.sign(access_claims),
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "id_token": self.sign(id_claims),
                "scope": grant.scope,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "),
                self.key.public_key(),
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
            )
        except jwt.PyJWTError:
            return JSONResponse({"error": "invalid_token"}, 401)
        return JSONResponse({"sub": claims["sub"], "name": claims.get("name")})

    async def logout(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.end_session_calls.append(params)
        hint = params.get("id_token_hint")
        if hint is not None:
            try:  # an expired id_token is a valid hint (OpenID Connect RP-Initiated Logout 1.0)
                claims = jwt.decode(
                    hint,
                    self.key.public_key(),
                    algorithms=["RS256"],
                    issuer=self.issuer,
                    options={"verify_aud": False, "verify_exp": False},
                )
            except jwt.PyJWTError:
                return JSONResponse(
                    {"error": "invalid_request", "error_description": "bad id_token_hint"}, 400
                )
            if params.get("client_id") and claims.get("aud") != params["client_id"]:
                return JSONResponse(
                    {"error": "invalid_request", "error_description": "id_token_hint of another client"}, 400
                )
            self.ended_subjects.append(str(claims["sub"]))
        target = params.get("post_logout_redirect_uri")
        if target:
            return RedirectResponse(target, 302)
        return JSONResponse({"signed_out": True})

    # --- running ---------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
                Route("/logout", self.logout),
            ]
        )

    def start(self) -> OidcProvider:
        self._server = start_uvicorn(self.app(), self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_uvicorn(self._server)


def start_uvicorn(app: Any, port: int, *, lifespan: str = "on") -> uvicorn.Server:
    """`app` served on 127.0.0.1:`port` from a background thread, once it accepts connections."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the server on port {port} did not start")
        time.sleep(0.02)
    server.__dict__["_thread"] = thread
    return server


def stop_uvicorn(server: uvicorn.Server) -> None:
    server.should_exit = True
    thread = server.__dict__.get("_thread")
    if isinstance(thread, threading.Thread):
        thread.join(timeout=10)
