"""Management chains resolved from ``manager_id`` links.

Real HR data has cycles and dangling ids; walking is depth-limited and stops at
the first repeated id, so bad data can never hang the engine.
"""

from __future__ import annotations

from collections.abc import Mapping


def ancestors(employee_id: str, manager_of: Mapping[str, str | None], depth: int) -> tuple[str, ...]:
    """Up to ``depth`` managers above ``employee_id``, nearest first."""
    chain: list[str] = []
    seen = {employee_id}
    current = manager_of.get(employee_id)
    while current is not None and len(chain) < depth and current not in seen:
        chain.append(current)
        seen.add(current)
        current = manager_of.get(current)
    return tuple(chain)


def management_chains(manager_of: Mapping[str, str | None], depth: int) -> dict[str, tuple[str, ...]]:
    """Depth-limited ancestors for every employee in ``manager_of``."""
    return {emp: ancestors(emp, manager_of, depth) for emp in manager_of}
