"""The API docs pages, served with their assets from the service itself (no CDN: they work offline).

`/docs` is Swagger UI from the pinned PyPI package `swagger-ui-bundle-v2`; the `/asyncapi` page
(rendered by `bridge_shared.events.asyncapi`) uses the AsyncAPI React viewer's standalone bundle,
vendored under `static/asyncapi` (see its README) and served here as `ASYNCAPI_JS_URL` and
`ASYNCAPI_CSS_URL`. Everything loads from same-origin URLs under `/docs/assets/`.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from bridge_shared.errors import Problem

__all__ = ["ASSETS_PREFIX", "ASYNCAPI_CSS_URL", "ASYNCAPI_JS_URL", "install_docs"]

ASSETS_PREFIX = "/docs/assets"
_STATIC = resources.files("bridge_shared.http") / "static"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# Only these files are served (nothing else of either package is reachable).
_ASSETS: dict[str, Traversable] = {
    "swagger-ui/swagger-ui-bundle.js": swagger_ui_path / "swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css": swagger_ui_path / "swagger-ui.css",
    "swagger-ui/favicon-32x32.png": swagger_ui_path / "favicon-32x32.png",
    "asyncapi/asyncapi-standalone.js": _STATIC / "asyncapi" / "asyncapi-standalone.js",
    "asyncapi/asyncapi.min.css": _STATIC / "asyncapi" / "asyncapi.min.css",
}

# For the /asyncapi page (bridge_shared.events.asyncapi renders it): the viewer and its styles.
ASYNCAPI_JS_URL = f"{ASSETS_PREFIX}/asyncapi/asyncapi-standalone.js"
ASYNCAPI_CSS_URL = f"{ASSETS_PREFIX}/asyncapi/asyncapi.min.css"


def install_docs(app: FastAPI, *, title: str) -> None:
    """Adds `/docs` (Swagger UI for `app.openapi_url`) and the assets of it and of the AsyncAPI
    viewer (`ASYNCAPI_JS_URL`, `ASYNCAPI_CSS_URL`). Build the app with `docs_url=None,
    redoc_url=None` so FastAPI's CDN pages are not registered too."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} API",
            swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PREFIX}/swagger-ui/favicon-32x32.png",
            # No badge that asks validator.swagger.io about the document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(ASSETS_PREFIX + "/{path:path}", include_in_schema=False)
    async def docs_asset(path: str) -> Response:
        asset = _ASSETS.get(path)
        if asset is None:
            raise Problem(404, "Not found")
        return Response(
            asset.read_bytes(),
            media_type=_TYPES["." + path.rsplit(".", 1)[-1]],
            headers={"Cache-Control": "public, max-age=86400"},
        )
