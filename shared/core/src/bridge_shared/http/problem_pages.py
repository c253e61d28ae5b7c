"""The pages problem `type` URIs point to: `/problems` (the index) and `/problems/<slug>`.

Every service serves every page of the registry (`bridge_shared.http.problem_types`), public and
same-origin like the docs pages (no CDN, no other host), so a problem's `type` resolves wherever
the service that answered runs.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from bridge_shared.errors import Problem
from bridge_shared.http.problem_types import PROBLEM_TYPES, PROBLEMS_PATH, ProblemType, type_path

__all__ = ["install_problem_pages", "problem_page_html", "problems_index_html"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}code{background:#f2f2f2;padding:0 .25em}"
    "table{border-collapse:collapse}td,th{text-align:left;padding:.25rem .75rem .25rem 0;"
    "vertical-align:top}h2{font-size:1.1rem;margin-top:1.5rem}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def problem_page_html(service: str, problem: ProblemType) -> str:
    return _page(
        f"{problem.title} ({problem.status}) - Bridge {service}",
        f'<p><a href="{PROBLEMS_PATH}">All problem types</a> · <a href="/docs">API docs</a></p>'
        f"<h1>{escape(problem.title)}</h1>"
        f"<p>HTTP status <strong>{problem.status}</strong> · type "
        f"<code>{escape(type_path(problem.slug))}</code></p>"
        f"<h2>What it means</h2><p>{escape(problem.meaning)}</p>"
        f"<h2>What to do</h2><p>{escape(problem.what_to_do)}</p>"
        "<h2>The answer</h2><p>Sent as <code>application/problem+json</code> (RFC 9457): "
        "<code>type</code> is this page, <code>title</code> the heading above, <code>detail</code> "
        "what went wrong with that request, <code>instance</code> its path.</p>",
    )


def problems_index_html(service: str) -> str:
    rows = "".join(
        f'<tr><td>{p.status}</td><td><a href="{type_path(p.slug)}">{escape(p.title)}</a></td>'
        f"<td>{escape(p.meaning)}</td></tr>"
        for p in sorted(PROBLEM_TYPES.values(), key=lambda p: (p.status, p.slug))
    )
    return _page(
        f"Problem types - Bridge {service}",
        f"<h1>Problem types</h1><p>Every error of the Bridge {escape(service)} API is "
        "<code>application/problem+json</code> whose <code>type</code> links to one of these pages. "
        'The operations are described at <a href="/docs">/docs</a>.</p>'
        f"<table><tr><th>Status</th><th>Title</th><th>What it means</th></tr>{rows}</table>",
    )


def install_problem_pages(app: FastAPI, *, service: str) -> None:
    @app.get(PROBLEMS_PATH, include_in_schema=False)
    async def problems_index() -> HTMLResponse:
        return HTMLResponse(problems_index_html(service), headers={"Cache-Control": "public, max-age=300"})

    @app.get(PROBLEMS_PATH + "/{slug}", include_in_schema=False)
    async def problem_page(slug: str) -> HTMLResponse:
        problem = PROBLEM_TYPES.get(slug)
        if problem is None:
            raise Problem(
                404, "Not found", f"There is no problem type {slug!r}; {PROBLEMS_PATH} lists them all."
            )
        return HTMLResponse(
            problem_page_html(service, problem), headers={"Cache-Control": "public, max-age=300"}
        )
