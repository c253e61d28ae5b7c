"""Enterprise sign-in: RS256/ES256 tokens of the identity provider, verified with its published keys.

A real identity provider stand-in serves its discovery document and JWK set over HTTP on 127.0.0.1
(counting requests); the tokens go through a real FastAPI route with `authenticate`, built from the
services' settings (`TokenValidator.from_settings`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from bridge_matching.settings import MatchingSettings
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.auth.tokens import TokenValidator, mint_token
from bridge_shared.http.problems import install_problem_handlers
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET

AUDIENCE = "api://bridge"


class SigningKey:
    def __init__(self, kind: str, kid: str | None = None) -> None:
        self.kid = kid or uuid.uuid4().hex[:12]
        self.private: Any
        if kind == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.alg = kind
        self.jwk: dict[str, Any] = {**jwk, "kid": self.kid, "use": "sig", "alg": kind}

    @property
    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


class IdentityProvider:
    """Discovery document and JWK set on 127.0.0.1, switchable down (503), counting requests."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.down = False
        self.jwks_requests = 0
        self.discovery_requests = 0
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if idp.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.path == "/.well-known/openid-configuration":
                    idp.discovery_requests += 1
                    body = {"issuer": idp.issuer, "jwks_uri": f"{idp.issuer}/keys"}
                elif self.path == "/keys":
                    idp.jwks_requests += 1
                    body = {"keys": list(idp.keys)}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, *keys: SigningKey) -> None:
        self.keys = [k.jwk for k in keys]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def token(self, key: SigningKey, **over: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "employee-42",
            "roles": ["hr_regional"],
            "regions": ["EMEA"],
            "name": "Ada Example",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.stop()


def make_app(**settings: Any) -> FastAPI:
    app = FastAPI()
    app.state.token_validator = TokenValidator.from_settings(MatchingSettings(environment="test", **settings))
    install_problem_handlers(app)

    @app.get("/me")
    async def me(p: Principal = Depends(authenticate)) -> dict[str, Any]:
        return {"sub": p.subject, "roles": sorted(p.roles), "regions": sorted(p.regions), "name": p.name}

    return app


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(**settings: Any) -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(**settings)), base_url="http://t")
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def internal_token() -> str:
    return mint_token(
        secret=DEV_JWT_SECRET,
        subject="svc-reporting",
        roles=["service"],
        issuer=DEFAULT_JWT_ISSUER,
        audience=DEFAULT_JWT_AUDIENCE,
    )


async def test_rs256_and_es256_tokens_of_the_identity_provider_are_accepted(
    idp: IdentityProvider, client_for: Any
) -> None:
    rsa_key, ec_key = SigningKey("RS256"), SigningKey("ES256")
    idp.publish(rsa_key, ec_key)
    # Discovery: only the issuer is configured; the JWKS URL comes from its openid-configuration.
    c = client_for(oidc_issuer=idp.issuer, oidc_audience=AUDIENCE)
    for key in (rsa_key, ec_key):
        r = await c.get("/me", headers=bearer(idp.token(key)))
        assert r.status_code == 200, r.text
        assert r.json() == {
            "sub": "employee-42",
            "roles": ["hr_regional"],
            "regions": ["EMEA"],
            "name": "Ada Example",
        }
    # Internal HS256 tokens keep working beside them.
    r = await c.get("/me", headers=bearer(internal_token()))
    assert r.status_code == 200
    assert r.json()["roles"] == ["service"]
    assert idp.discovery_requests == 1
    assert idp.jwks_requests == 1  # cached: one fetch for both keys and all requests


async def test_claim_names_of_the_identity_provider_are_configurable(
    idp: IdentityProvider, client_for: Any
) -> None:
    key = SigningKey("RS256")
    idp.publish(key)
    c = client_for(
        oidc_issuer=idp.issuer,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=f"{idp.issuer}/keys",
        oidc_subject_claim="employee_id",
        oidc_roles_claim="app_roles",
        oidc_regions_claim="bridge_regions",
    )
    token = idp.token(
        key, roles=None, regions=None, employee_id="E-7", app_roles=["hr_regional"], bridge_regions=["APAC"]
    )
    r = await c.get("/me", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == "E-7"
    assert r.json()["regions"] == ["APAC"]
    assert idp.discovery_requests == 0  # the JWKS URL was given
    # Typed claims apply to the identity provider's tokens as well.
    r = await c.get(
        "/me",
        headers=bearer(idp.token(key, employee_id="E-7", app_roles=["hr_regional"], bridge_regions="APAC")),
    )
    assert r.status_code == 401
    assert "bridge_regions" in r.json()["detail"]


async def test_wrong_issuer_audience_lifetime_or_key_are_refused(
    idp: IdentityProvider, client_for: Any
) -> None:
    key, stranger = SigningKey("RS256"), SigningKey("RS256")
    idp.publish(key)
    c = client_for(oidc_issuer=idp.issuer, oidc_audience=AUDIENCE, oidc_jwks_url=f"{idp.issuer}/keys")
    now = int(time.time())
    refused = {
        "wrong issuer": idp.token(key, iss="https://login.evil.example"),
        "wrong audience": idp.token(key, aud="api://someone-else"),
        "expired": idp.token(key, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "too long": idp.token(key, exp=now + 24 * 3600),
        "no iat": idp.token(key, iat=None),
        "not the IdP's key": jwt.encode(
            {
                "iss": idp.issuer,
                "aud": AUDIENCE,
                "sub": "x",
                "roles": ["hr_admin"],
                "iat": now,
                "exp": now + 60,
            },
            stranger.private,
            algorithm="RS256",
            headers={"kid": key.kid},  # claims to be the IdP's key
        ),
        "unknown role": idp.token(key, roles=["superuser"]),
    }
    for why, token in refused.items():
        r = await c.get("/me", headers=bearer(token))
        assert r.status_code == 401, why
        assert r.headers["content-type"] == "application/problem+json", why
        assert r.json()["title"] == "Invalid token", why
    assert (await c.get("/me", headers=bearer(idp.token(key)))).status_code == 200


def _hs256_by_hand(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        + "."
        + b64(json.dumps(claims).encode())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


async def test_no_algorithm_confusion(idp: IdentityProvider, client_for: Any) -> None:
    rsa_key, ec_key = SigningKey("RS256"), SigningKey("ES256")
    idp.publish(rsa_key, ec_key)
    c = client_for(oidc_issuer=idp.issuer, oidc_audience=AUDIENCE, oidc_jwks_url=f"{idp.issuer}/keys")
    now = int(time.time())
    claims = {
        "iss": idp.issuer,
        "aud": AUDIENCE,
        "sub": "x",
        "roles": ["hr_admin"],
        "iat": now,
        "exp": now + 60,
    }
    # HS256 "signed" with the IdP's public key (PEM, and the JWK's modulus): never verified with it.
    for secret in (rsa_key.public_pem, json.dumps(rsa_key.jwk).encode()):
        r = await c.get("/me", headers=bearer(_hs256_by_hand(claims, secret, rsa_key.kid)))
        assert r.status_code == 401
        assert r.json()["title"] == "Invalid token"
    # The same forgery with the internal issuer: still only the shared secret verifies HS256.
    internal = {**claims, "iss": DEFAULT_JWT_ISSUER, "aud": DEFAULT_JWT_AUDIENCE}
    r = await c.get("/me", headers=bearer(_hs256_by_hand(internal, rsa_key.public_pem, rsa_key.kid)))
    assert r.status_code == 401
    # An RS256 header pointing at the EC key, and an algorithm the IdP is not allowed: refused.
    mixed = jwt.encode(claims, rsa_key.private, algorithm="RS256", headers={"kid": ec_key.kid})
    assert (await c.get("/me", headers=bearer(mixed))).status_code == 401
    ps = jwt.encode(claims, rsa_key.private, algorithm="PS256", headers={"kid": rsa_key.kid})
    r = await c.get("/me", headers=bearer(ps))
    assert r.status_code == 401
    assert "PS256" in r.json()["detail"]
    # alg=none naming the IdP as issuer.
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": rsa_key.kid})
    assert (await c.get("/me", headers=bearer(unsigned))).status_code == 401


async def test_key_rotation_new_key_picked_up_removed_key_stops_after_refresh(
    idp: IdentityProvider, client_for: Any
) -> None:
    old, new = SigningKey("RS256"), SigningKey("ES256")
    idp.publish(old)
    c = client_for(
        oidc_issuer=idp.issuer,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=f"{idp.issuer}/keys",
        oidc_jwks_refresh_seconds=1.0,
        oidc_jwks_min_refetch_seconds=0.2,
    )
    old_token, new_token = idp.token(old), idp.token(new)
    assert (await c.get("/me", headers=bearer(old_token))).status_code == 200
    assert (await c.get("/me", headers=bearer(new_token))).status_code == 401  # not published yet
    # The IdP publishes the new key: a token naming it makes the service fetch the set again.
    idp.publish(old, new)
    await asyncio.sleep(0.3)
    r = await c.get("/me", headers=bearer(new_token))
    assert r.status_code == 200, r.text
    # The IdP withdraws the old key: still cached until the next refresh, refused after it.
    idp.publish(new)
    assert (await c.get("/me", headers=bearer(old_token))).status_code == 200
    await asyncio.sleep(1.1)
    r = await c.get("/me", headers=bearer(old_token))
    assert r.status_code == 401
    assert old.kid in r.json()["detail"]
    assert (await c.get("/me", headers=bearer(new_token))).status_code == 200


async def test_a_flood_of_unknown_key_ids_makes_at_most_one_fetch_per_interval(
    idp: IdentityProvider, client_for: Any
) -> None:
    key = SigningKey("RS256")
    idp.publish(key)
    c = client_for(
        oidc_issuer=idp.issuer,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=f"{idp.issuer}/keys",
        oidc_jwks_min_refetch_seconds=60,
    )

    forged = SigningKey("RS256")

    async def bogus() -> int:
        forged.kid = uuid.uuid4().hex  # a new made-up key id every time
        return (await c.get("/me", headers=bearer(idp.token(forged)))).status_code

    # Cold cache, 40 at once: one fetch between them.
    assert set(await asyncio.gather(*(bogus() for _ in range(40)))) == {401}
    assert idp.jwks_requests == 1
    # Warm cache: the known key works, and another 40 unknown kids fetch nothing more.
    assert (await c.get("/me", headers=bearer(idp.token(key)))).status_code == 200
    assert set(await asyncio.gather(*(bogus() for _ in range(40)))) == {401}
    assert idp.jwks_requests == 1


async def test_identity_provider_down_is_503_for_its_tokens_and_internal_tokens_still_work(
    idp: IdentityProvider, client_for: Any
) -> None:
    key = SigningKey("RS256")
    idp.publish(key)
    # Nothing listens: connection refused.
    gone = IdentityProvider()
    gone.stop()
    c = client_for(oidc_issuer=gone.issuer, oidc_audience=AUDIENCE, oidc_http_timeout_seconds=2)
    r = await c.get("/me", headers=bearer(gone.token(key)))
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "30"
    assert r.json()["title"] == "Identity provider unavailable"
    assert (await c.get("/me", headers=bearer(internal_token()))).status_code == 200

    # Answering 503: the same; once it is back, its tokens are accepted; down again after the keys
    # were fetched, the cached keys keep working through the failed refreshes.
    idp.down = True
    c = client_for(
        oidc_issuer=idp.issuer,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=f"{idp.issuer}/keys",
        oidc_jwks_refresh_seconds=0.5,
        oidc_jwks_min_refetch_seconds=0.2,
    )
    assert (await c.get("/me", headers=bearer(idp.token(key)))).status_code == 503
    assert (await c.get("/me", headers=bearer(internal_token()))).status_code == 200
    idp.down = False
    await asyncio.sleep(0.3)
    assert (await c.get("/me", headers=bearer(idp.token(key)))).status_code == 200
    idp.down = True
    await asyncio.sleep(0.6)
    assert (await c.get("/me", headers=bearer(idp.token(key)))).status_code == 200
