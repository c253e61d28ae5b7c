"""Bounded query and path parameters (the body's types are in `bridge_shared.types`).

Control characters in any query parameter or the path are refused before routing
(`bridge_shared.http.guard`); these bound what is left: paging, and free-text filters.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from bridge_shared.types import IDENTIFIER_MAX, MAX_OFFSET, SHORT_TEXT_MAX

__all__ = ["MAX_OFFSET", "Offset", "PathIdentifier", "QueryIdentifier", "QueryText"]

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"items to skip (at most {MAX_OFFSET:,})")]
"""`offset: Offset = 0`: paging, bounded so the database never sees an out-of-range number."""

QueryIdentifier = Annotated[str, Query(min_length=1, max_length=IDENTIFIER_MAX)]
"""An identifier-like filter (`cohort_id`, `status`): at most 128 characters."""

QueryText = Annotated[str, Query(min_length=1, max_length=SHORT_TEXT_MAX)]
"""A free-text filter: at most 200 characters."""

PathIdentifier = Annotated[str, Path(min_length=1, max_length=IDENTIFIER_MAX)]
"""An identifier in the path that is not a UUID (another service's id): at most 128 characters."""
