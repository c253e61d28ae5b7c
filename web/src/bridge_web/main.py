"""The web app: `create_app(settings)` wires middleware, routers, templates and translations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bridge_web.api import auth, hr, pages, participant
from bridge_web.api.middleware import SecurityHeadersMiddleware, SessionMiddleware
from bridge_web.app.auth import OidcClient
from bridge_web.app.session import SessionCodec
from bridge_web.domain.i18n import load_catalogues
from bridge_web.settings import WebSettings

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger(__name__)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    http = httpx.AsyncClient(timeout=settings.backend_timeout_seconds, follow_redirects=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await http.aclose()

    app = FastAPI(
        title="Bridge web app",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.http = http
    app.state.catalogues = load_catalogues()
    app.state.oidc = OidcClient(settings, http) if settings.oidc_issuer else None

    assert settings.session_secret is not None  # set by WebSettings outside production
    codec = SessionCodec(settings.session_secret.get_secret_value(), settings.session_cookie_name)
    app.add_middleware(
        SessionMiddleware,
        codec=codec,
        secure=settings.secure_cookies,
        idle_seconds=settings.session_idle_minutes * 60,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.base_url.startswith("https://"))

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    pages.install_error_pages(app)
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(participant.router)  # the participants' pages
    app.include_router(hr.router)  # HR's pages
    return app
