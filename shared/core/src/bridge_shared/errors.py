"""The error a use case raises when a request cannot be carried out.

A `Problem` names an HTTP status and an RFC 9457 title/detail (plus extension members such as
`field`), but it is plain Python: use cases in `app/` and rules in `domain/` raise it without
importing FastAPI, and `bridge_shared.http.problems` turns it into application/problem+json.
"""

from __future__ import annotations

from typing import Any

TYPE_BASE = "https://docs.bridge.example/problems/"


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
        self.type = type_ or f"{TYPE_BASE}{title.lower().replace(' ', '-')}"
        self.headers = headers
        self.extensions = extensions
