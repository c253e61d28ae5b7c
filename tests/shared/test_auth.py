"""JWT validation with pinned algorithm, issuer and audience; roles; problem+json on failure."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from bridge_shared.auth.dependencies import authenticate, require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.auth.tokens import InvalidToken, TokenValidator, mint_token
from bridge_shared.http.problems import install_problem_handlers

SECRET = "unit-test-secret-0123456789abcdef0123456789"
ISS, AUD = "https://issuer.test", "bridge"


def validator() -> TokenValidator:
    return TokenValidator(algorithms=["HS256"], issuer=ISS, audience=AUD, secret=SECRET)


def claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "E1",
        "roles": ["participant"],
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "exp": now + 60,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


async def test_valid_token_gives_a_principal() -> None:
    tok = mint_token(
        secret=SECRET, subject="hr-1", roles=["hr_regional"], regions=["EMEA"], issuer=ISS, audience=AUD
    )
    p = await validator().validate(tok)
    assert p.subject == "hr-1"
    assert p.roles == {Role.HR_REGIONAL}
    assert p.regions == {"EMEA"}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: jwt.encode(claims(), SECRET, algorithm="HS512"), "alg"),
        (
            lambda: jwt.encode(claims(), "another-secret-0123456789abcdef0123456789", algorithm="HS256"),
            "Signature",
        ),
        (lambda: jwt.encode(claims(iss="https://evil"), SECRET, algorithm="HS256"), "issuer"),
        (lambda: jwt.encode(claims(aud="other"), SECRET, algorithm="HS256"), "audience"),
        (lambda: jwt.encode(claims(exp=int(time.time()) - 3600), SECRET, algorithm="HS256"), "expired"),
        (lambda: jwt.encode(claims(exp=None), SECRET, algorithm="HS256"), "exp"),
        (lambda: jwt.encode(claims(roles=[]), SECRET, algorithm="HS256"), "no role"),
        (lambda: jwt.encode(claims(roles=["god"]), SECRET, algorithm="HS256"), "unknown role"),
        (lambda: jwt.encode(claims(roles=["hr_regional"]), SECRET, algorithm="HS256"), "regions"),
        (lambda: jwt.encode(claims(), None, algorithm="none"), "alg"),
        # Typed claims: nothing is coerced, nothing is split.
        (lambda: jwt.encode(claims(roles=["hr_regional"], regions=7), SECRET), "regions"),
        (lambda: jwt.encode(claims(roles=["hr_regional"], regions="EMEA"), SECRET), "regions"),
        (lambda: jwt.encode(claims(roles=["hr_regional"], regions=["EMEA", 7]), SECRET), "regions"),
        (lambda: jwt.encode(claims(roles=["hr_regional"], regions=["x" * 65]), SECRET), "regions"),
        (lambda: jwt.encode(claims(roles=["hr_regional"], regions=["EM\nEA"]), SECRET), "regions"),
        (
            lambda: jwt.encode(claims(roles=["hr_regional"], regions=[f"R{i}" for i in range(65)]), SECRET),
            "regions",
        ),
        (lambda: jwt.encode(claims(roles="hr_admin"), SECRET), "roles"),
        (lambda: jwt.encode(claims(roles=[1]), SECRET), "roles"),
        (lambda: jwt.encode(claims(sub=""), SECRET), "sub"),
        (lambda: jwt.encode(claims(sub="   "), SECRET), "sub"),
        (lambda: jwt.encode(claims(roles=["hr_regional"], regions=[" "]), SECRET), "regions"),
        (lambda: jwt.encode(claims(sub=42), SECRET), "sub"),
        (lambda: jwt.encode(claims(sub="x" * 257), SECRET), "sub"),
        (lambda: jwt.encode(claims(name=["A"]), SECRET), "name"),
        (lambda: jwt.encode(claims(name="x" * 201), SECRET), "name"),
        (lambda: jwt.encode(claims(iat=None), SECRET), "iat"),
        (lambda: jwt.encode(claims(iat=True), SECRET), "iat"),
        (lambda: jwt.encode(claims(exp=float(time.time() + 60)), SECRET), "exp"),
        # Lifetime: at most 12 h from iat to exp by default; not issued in the future.
        (lambda: jwt.encode(claims(exp=int(time.time()) + 12 * 3600 + 60), SECRET), "lifetime"),
        (
            lambda: jwt.encode(claims(iat=int(time.time()) - 3600, exp=int(time.time()) + 12 * 3600), SECRET),
            "lifetime",
        ),
        (lambda: jwt.encode(claims(iat=int(time.time()) + 600), SECRET), "iat"),
    ],
)
async def test_bad_tokens_are_refused(make: Callable[[], str], reason: str) -> None:
    # Minted when the test runs, not when it is collected: a worker may start it minutes later.
    token = make()
    with pytest.raises(InvalidToken, match=f"(?i){reason}"):
        await validator().validate(token)


async def test_the_maximum_lifetime_is_configurable_and_leeway_applies_to_iat() -> None:
    now = int(time.time())
    one_day = jwt.encode(claims(exp=now + 24 * 3600), SECRET)
    with pytest.raises(InvalidToken, match="lifetime"):
        await validator().validate(one_day)
    longer = TokenValidator(
        algorithms=["HS256"], issuer=ISS, audience=AUD, secret=SECRET, max_lifetime_seconds=25 * 3600
    )
    assert (await longer.validate(one_day)).subject == "E1"
    # Issued a few seconds ahead (clock skew within the leeway): accepted.
    assert (await validator().validate(jwt.encode(claims(iat=now + 10), SECRET))).subject == "E1"


async def test_bad_claims_are_401_problems_never_500() -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_app(), raise_app_exceptions=False), base_url="http://t"
    ) as c:
        for bad in (
            claims(roles=["hr_regional"], regions=7),
            claims(roles=["hr_regional"], regions="EMEA"),
            claims(roles="participant"),
            claims(exp=int(time.time()) + 13 * 3600),
            claims(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200),
        ):
            r = await c.get("/me", headers={"Authorization": f"Bearer {jwt.encode(bad, SECRET)}"})
            assert r.status_code == 401, (bad, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["title"] == "Invalid token"


async def test_a_regions_string_is_not_split_into_letters() -> None:
    token = jwt.encode(claims(roles=["hr_regional"], regions="EMEA"), SECRET)
    with pytest.raises(InvalidToken, match=r"claim 'regions'.*list"):
        await validator().validate(token)
    ok = await validator().validate(jwt.encode(claims(roles=["hr_regional"], regions=["EMEA"]), SECRET))
    assert ok.regions == {"EMEA"}


def test_validator_refuses_to_be_configured_without_a_real_algorithm() -> None:
    with pytest.raises(ValueError, match="pin"):
        TokenValidator(algorithms=["none"], issuer=ISS, audience=AUD, secret=SECRET)
    with pytest.raises(ValueError, match="no key"):
        TokenValidator(algorithms=["RS256"], issuer=ISS, audience=AUD, secret=SECRET)


def _app() -> FastAPI:
    app = FastAPI()
    app.state.token_validator = validator()
    install_problem_handlers(app)

    @app.get("/me")
    async def me(p: Principal = Depends(authenticate)) -> dict[str, str]:
        return {"sub": p.subject}

    @app.get("/hr-only")
    async def hr_only(p: Principal = Depends(require(Role.HR_ADMIN))) -> dict[str, str]:
        return {"sub": p.subject}

    return app


async def test_endpoints_answer_401_and_403_as_problem_json() -> None:
    participant = mint_token(secret=SECRET, subject="E1", roles=["participant"], issuer=ISS, audience=AUD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
        r = await c.get("/me")
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["title"] == "Authentication required"
        r = await c.get("/me", headers={"Authorization": "Bearer not.a.jwt"})
        assert r.status_code == 401
        assert r.json()["title"] == "Invalid token"
        r = await c.get("/me", headers={"Authorization": f"Bearer {participant}"})
        assert r.json() == {"sub": "E1"}
        r = await c.get("/hr-only", headers={"Authorization": f"Bearer {participant}"})
        assert r.status_code == 403
        assert r.json()["status"] == 403


def test_dev_token_command_mints_a_token_the_services_accept() -> None:
    from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge_shared.auth.mint",
            "--role",
            "hr_regional",
            "--regions",
            "EMEA,APAC",
            "--sub",
            "hr-emea",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    p = TokenValidator(
        algorithms=["HS256"], issuer=DEFAULT_JWT_ISSUER, audience=DEFAULT_JWT_AUDIENCE, secret=DEV_JWT_SECRET
    ).validate_internal(out)
    assert p.subject == "hr-emea"
    assert p.regions == {"EMEA", "APAC"}


def test_dev_token_command_refuses_a_lifetime_above_the_maximum() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bridge_shared.auth.mint", "--ttl", str(12 * 3600 + 1)],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "--ttl must be between 1 and 43200" in run.stderr
    assert run.stdout == ""


async def test_production_with_enterprise_sign_in_only_accepts_no_hs_token() -> None:
    from bridge_matching.settings import MatchingSettings
    from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET

    settings = MatchingSettings(
        environment="production",
        kafka_allow_plaintext_in_production=True,
        oidc_issuer="https://login.example.com/tenant/v2.0",
        oidc_audience="api://bridge",
        privacy_pepper="7f3c1e9a5b2d8f4e6a0c3b7d9e1f5a2c4b6d8e0f",
    )
    assert settings.jwt_secret is None
    only_oidc = TokenValidator.from_settings(settings)
    for secret in (DEV_JWT_SECRET, SECRET):
        forged = jwt.encode(
            {**claims(), "iss": DEFAULT_JWT_ISSUER, "aud": DEFAULT_JWT_AUDIENCE}, secret, algorithm="HS256"
        )
        with pytest.raises(InvalidToken, match="not allowed"):
            await only_oidc.validate(forged)
