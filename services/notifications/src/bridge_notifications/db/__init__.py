"""Repositories: SQL in, typed rows out. Every "now" is passed in from the injected clock."""

from __future__ import annotations


def affected(status: str) -> int:
    """The row count of an INSERT/UPDATE/DELETE command status ("UPDATE 3")."""
    return int(status.split()[-1])
