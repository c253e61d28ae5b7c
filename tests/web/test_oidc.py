"""Sign-in through a real OpenID Connect provider (tests/web/oidc_provider.py) over real HTTP: the
authorisation code flow with PKCE, state and nonce, as a browser follows the redirects."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from bridge_devstack.ports import free_port
from bridge_web.app.session import SessionCodec
from bridge_web.main import create_app
from bridge_web.settings import WebSettings
from tests.web.oidc_provider import OidcProvider, start_uvicorn, stop_uvicorn

CLIENT_ID = "bridge-web"
CLIENT_SECRET = "web-client-secret-" + "0123456789abcdef0123456789"
SESSION_SECRET = "test-session-secret-" + "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
HR_EMEA = {"sub": "hr-emea-7", "roles": ["hr_regional"], "regions": ["EMEA"], "name": "Erika HR"}


@dataclass
class WebApp:
    url: str
    settings: WebSettings
    server: uvicorn.Server

    def session(self, client: httpx.Client) -> dict[str, Any]:
        codec = SessionCodec(SESSION_SECRET, self.settings.session_cookie_name)
        return codec.decode(codec.join(dict(client.cookies))) or {}


def web_settings(provider: OidcProvider, port: int, **overrides: Any) -> WebSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "http_port": port,
        "public_base_url": f"http://127.0.0.1:{port}",
        "session_secret": SESSION_SECRET,
        "cookie_secure": False,
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_audience": provider.audience,
    }
    return WebSettings(**(values | overrides))


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    idp = OidcProvider().start()
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def web(provider: OidcProvider) -> Iterator[WebApp]:
    port = free_port()
    settings = web_settings(provider, port)
    provider.register(CLIENT_ID, CLIENT_SECRET, settings.redirect_uri)
    server = start_uvicorn(create_app(settings), port)
    yield WebApp(f"http://127.0.0.1:{port}", settings, server)
    stop_uvicorn(server)


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=True, timeout=20) as client:
        yield client


@pytest.fixture(autouse=True)
def _reset(provider: OidcProvider) -> None:
    provider.user = dict(HR_EMEA)
    provider.wrong_nonce = False


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def to_callback(client: httpx.Client, web: WebApp, next_path: str = "/") -> str:
    """Starts a sign-in and follows it to the identity provider; returns the callback URL the
    provider sends the browser back to (not yet followed)."""
    start = client.get(f"{web.url}/auth/login", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 303
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [web.settings.redirect_uri]
    answer = client.get(authorize, follow_redirects=False)
    assert answer.status_code == 302
    return answer.headers["location"]


def refusals(provider: OidcProvider, before: int) -> int:
    return len(provider.token_requests) - before


def test_sign_in_lands_signed_in_with_the_tokens_roles(
    web: WebApp, provider: OidcProvider, browser: httpx.Client
) -> None:
    page = browser.get(f"{web.url}/relationships/42?tab=sessions")  # a signed-out deep link
    assert page.status_code == 200 and "Sign in with your company account" in page.text
    assert "/signin?next=%2Frelationships%2F42%3Ftab%3Dsessions" in str(page.history[0].headers["location"])
    back = browser.get(f"{web.url}/auth/login", params={"next": "/account"})
    assert back.status_code == 200 and str(back.url) == f"{web.url}/account"
    assert "Erika HR" in back.text and "Regional HR" in back.text and "EMEA" in back.text
    session = web.session(browser)
    assert session["user"]["roles"] == ["hr_regional"]
    assert session["user"]["regions"] == ["EMEA"]
    assert session["user"]["via"] == "oidc"
    # The access token kept is the provider's, for the services to verify.
    token_request = provider.token_requests[-1]
    assert token_request["grant_type"] == "authorization_code" and token_request["code_verifier"]
    assert "client_secret" not in token_request  # sent with HTTP Basic
    home = browser.get(f"{web.url}/")
    assert "Run the cohorts of your regions: EMEA." in home.text and 'href="/hr/cohorts"' in home.text


def test_the_session_cookie_is_http_only_and_same_site_lax(web: WebApp, browser: httpx.Client) -> None:
    callback = to_callback(browser, web)
    answer = browser.get(callback, follow_redirects=False)
    assert answer.status_code == 303
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(f"{web.settings.session_cookie_name}="))
    attributes = [part.strip().lower() for part in session_cookie.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # cookie_secure=false here (plain http on this machine)


def test_cookies_are_secure_when_configured(provider: OidcProvider) -> None:
    port = free_port()
    app = create_app(web_settings(provider, port, cookie_secure=True))
    from fastapi.testclient import TestClient

    with TestClient(app, base_url=f"https://127.0.0.1:{port}") as client:
        answer = client.get("/signin")
    cookie = SimpleCookie()
    cookie.load(answer.headers["set-cookie"])
    morsel = cookie["bridge_session"]
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Lax"


def test_a_code_from_another_sign_in_fails_pkce(web: WebApp, provider: OidcProvider) -> None:
    """An attacker's code injected into a victim's sign-in: the victim's verifier does not match."""
    with httpx.Client(timeout=20) as attacker, httpx.Client(timeout=20) as victim:
        stolen = parse_qs(urlsplit(to_callback(attacker, web)).query)["code"][0]
        own = parse_qs(urlsplit(to_callback(victim, web)).query)
        before = len(provider.token_requests)
        answer = victim.get(
            f"{web.url}/auth/callback",
            params={"code": stolen, "state": own["state"][0]},
            follow_redirects=False,
        )
        assert refusals(provider, before) == 1  # the exchange was tried, and refused
        assert answer.status_code == 400 and "The sign-in did not work" in answer.text
        assert "user" not in web.session(victim)
        assert victim.get(f"{web.url}/account", follow_redirects=False).status_code == 303


def test_a_replayed_code_is_refused(web: WebApp, provider: OidcProvider) -> None:
    with httpx.Client(timeout=20) as first, httpx.Client(timeout=20) as second:
        callback = to_callback(first, web)
        assert first.get(callback, follow_redirects=False).status_code == 303
        assert "user" in web.session(first)
        used = parse_qs(urlsplit(callback).query)["code"][0]
        state = parse_qs(urlsplit(to_callback(second, web)).query)["state"][0]
        answer = second.get(
            f"{web.url}/auth/callback", params={"code": used, "state": state}, follow_redirects=False
        )
        assert answer.status_code == 400
        assert "user" not in web.session(second)
        # The same callback again in the first browser: its sign-in is over (state), nothing exchanged.
        before = len(provider.token_requests)
        again = first.get(callback, follow_redirects=False)
        assert again.status_code == 400 and refusals(provider, before) == 0


def test_a_wrong_state_is_refused_before_any_exchange(
    web: WebApp, provider: OidcProvider, browser: httpx.Client
) -> None:
    query = parse_qs(urlsplit(to_callback(browser, web)).query)
    before = len(provider.token_requests)
    answer = browser.get(
        f"{web.url}/auth/callback",
        params={"code": query["code"][0], "state": "forged-state"},
        follow_redirects=False,
    )
    assert answer.status_code == 400 and "(state)" in answer.text
    assert refusals(provider, before) == 0
    assert "user" not in web.session(browser)


def test_a_wrong_nonce_is_refused(web: WebApp, provider: OidcProvider, browser: httpx.Client) -> None:
    provider.wrong_nonce = True
    answer = browser.get(to_callback(browser, web), follow_redirects=False)
    assert answer.status_code == 400 and "(nonce)" in answer.text
    assert "user" not in web.session(browser)


def test_a_token_without_a_bridge_role_is_refused(
    web: WebApp, provider: OidcProvider, browser: httpx.Client
) -> None:
    provider.user = {"sub": "E9", "roles": ["superuser"], "name": "Nobody"}
    answer = browser.get(to_callback(browser, web), follow_redirects=False)
    assert answer.status_code == 400 and "unknown role" in answer.text
    assert "user" not in web.session(browser)


def test_post_without_csrf_token_is_refused(web: WebApp, browser: httpx.Client) -> None:
    browser.get(to_callback(browser, web))
    assert browser.post(f"{web.url}/locale", data={"locale": "de"}).status_code == 403
    assert browser.post(f"{web.url}/locale", data={"locale": "de", "csrf_token": "guess"}).status_code == 403
    token = csrf(browser.get(f"{web.url}/").text)
    page = browser.post(f"{web.url}/locale", data={"locale": "de", "csrf_token": token, "next": "/"})
    assert page.status_code == 200 and "Willkommen" in page.text and '<html lang="de">' in page.text


def test_sign_out_clears_the_session_and_ends_the_identity_providers(
    web: WebApp, provider: OidcProvider, browser: httpx.Client
) -> None:
    browser.get(to_callback(browser, web))
    home = browser.get(f"{web.url}/")
    assert "Sign out" in home.text
    calls = len(provider.end_session_calls)
    after = browser.post(f"{web.url}/signout", data={"csrf_token": csrf(home.text)})
    assert str(after.url) == f"{web.url}/signed-out" and "You are signed out" in after.text
    assert len(provider.end_session_calls) == calls + 1
    ended = provider.end_session_calls[-1]
    assert ended["client_id"] == CLIENT_ID and ended["post_logout_redirect_uri"] == f"{web.url}/signed-out"
    # The id_token the provider issued at sign-in goes back as the hint; the provider verified it.
    assert ended["id_token_hint"] and provider.ended_subjects[-1] == HR_EMEA["sub"]
    forged = ended["id_token_hint"][:-4] + ("AAAA" if not ended["id_token_hint"].endswith("AAAA") else "BBBB")
    refused = browser.get(f"{provider.issuer}/logout", params={**ended, "id_token_hint": forged})
    assert refused.status_code == 400 and "bad id_token_hint" in refused.text
    assert "user" not in web.session(browser)
    assert browser.get(f"{web.url}/account", follow_redirects=False).status_code == 303


@pytest.mark.integration
async def test_a_service_accepts_the_forwarded_identity_provider_token(
    provider: OidcProvider, admin_dsn: str, bootstrap_servers: str
) -> None:
    """notifications, configured with the provider as its identity provider, answers the web app's
    calls made with the access token the provider issued (the /account page reads
    GET /me/preferences with it)."""
    from bridge_notifications.main import create_app as notifications_app
    from bridge_notifications.settings import NotificationsSettings
    from tests.service_harness import running_service

    async with running_service(
        notifications_app,
        NotificationsSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        oidc_issuer=provider.issuer,
        oidc_audience=provider.audience,
        oidc_jwks_url=f"{provider.issuer}/jwks",
    ) as notifications:
        service_port, web_port = free_port(), free_port()
        # Served on this test's event loop: the service's database pool belongs to it.
        service = uvicorn.Server(
            uvicorn.Config(
                notifications.app, host="127.0.0.1", port=service_port, lifespan="off", log_level="warning"
            )
        )
        serving = asyncio.create_task(service.serve())
        while not service.started:
            await asyncio.sleep(0.02)
        settings = web_settings(provider, web_port, notifications_url=f"http://127.0.0.1:{service_port}")
        provider.register(f"{CLIENT_ID}-svc", CLIENT_SECRET, settings.redirect_uri)
        settings = web_settings(
            provider,
            web_port,
            notifications_url=f"http://127.0.0.1:{service_port}",
            oidc_client_id=f"{CLIENT_ID}-svc",
        )
        web = start_uvicorn(create_app(settings), web_port)
        try:
            provider.user = {"sub": "E5150", "roles": ["participant"], "name": "Kenji Participant"}
            async with httpx.AsyncClient(follow_redirects=True, timeout=20) as browser:
                signed_in = await browser.get(
                    f"http://127.0.0.1:{web_port}/auth/login", params={"next": "/account"}
                )
                assert str(signed_in.url).endswith("/account"), signed_in.text[:500]
                # The participant sets their time zone and language through the service, with the same token.
                token = SessionCodec(SESSION_SECRET, "bridge_session").decode(
                    SessionCodec(SESSION_SECRET, "bridge_session").join(dict(browser.cookies))
                )["user"]["token"]
                put = await browser.put(
                    f"http://127.0.0.1:{service_port}/me/preferences",
                    json={"timezone": "Asia/Tokyo", "locale": "ja"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert put.status_code == 200, put.text
                account = await browser.get(f"http://127.0.0.1:{web_port}/account")
                assert str(account.url).endswith("/account")
                assert 'id="profile-timezone">Asia/Tokyo<' in account.text
                assert '<html lang="ja">' in account.text  # the profile's language applies from now on
                # A token the provider did not sign is refused by the service (and the page asks to sign in).
                forged = await browser.get(
                    f"http://127.0.0.1:{service_port}/me/preferences",
                    headers={"Authorization": f"Bearer {token[:-4]}AAAA"},
                )
                assert forged.status_code == 401
        finally:
            stop_uvicorn(web)
            service.should_exit = True
            await serving
