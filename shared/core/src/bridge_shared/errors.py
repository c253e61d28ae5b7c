"""The error a use case raises when a request cannot be carried out.

A `Problem` names an HTTP status and an RFC 9457 title/detail (plus extension members such as
`field`), but it is plain Python: use cases in `app/` and rules in `domain/` raise it without
importing FastAPI, and `bridge_shared.http.problems` turns it into application/problem+json.

Its `type` is the same-origin path of the problem type's page, `/problems/<slug of the title>`
(`Problem(404, "Pair not found")` -> `/problems/pair-not-found`); the handler makes it absolute against
the service's base URL, and every service serves that page (`bridge_shared.http.problem_types` is the
registry: a new title needs an entry there, which tests/shared/test_problem_pages.py enforces).
"""

from __future__ import annotations

from typing import Any

# Relative to the service that answers: `bridge_shared.http.problems` resolves it against its base URL.
TYPE_BASE = "/problems/"


def slug_of(title: str) -> str:
    """The problem type's slug for a title: "Pair not found" -> "pair-not-found"."""
    return title.strip().lower().replace(" ", "-")


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or f"{TYPE_BASE}{slug_of(title)}"
        self.headers = headers
        self.extensions = extensions
