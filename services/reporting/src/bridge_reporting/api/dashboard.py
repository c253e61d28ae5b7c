"""The HR dashboard: a public shell page and its static assets. The page calls the authenticated
/reports endpoints with the token the user provides (`?token=` or the sign-in box), so every figure
it shows is scoped exactly like the API. Chart.js is vendored under static/vendor (no CDN)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from bridge_shared.errors import Problem

router = APIRouter(include_in_schema=False)

_STATIC = resources.files("bridge_reporting") / "static"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
_ASSETS = {
    "dashboard.js": "dashboard.js",
    "dashboard.css": "dashboard.css",
    "vendor/chart.umd.min.js": "vendor/chart.umd.min.js",
    "vendor/chart.js.LICENSE.md": "vendor/chart.js.LICENSE.md",
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@router.get("/dashboard")
async def dashboard_page() -> HTMLResponse:
    html = (_STATIC / "dashboard.html").read_text(encoding="utf-8")
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": _CSP,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/dashboard/static/{path:path}")
async def dashboard_asset(path: str) -> Response:
    name = _ASSETS.get(path)
    if name is None:
        raise Problem(404, "Not found")
    suffix = "." + name.rsplit(".", 1)[-1]
    return Response(
        (_STATIC / name).read_bytes(),
        media_type=_TYPES.get(suffix, "application/octet-stream"),
        headers={"Cache-Control": "public, max-age=3600"},
    )
