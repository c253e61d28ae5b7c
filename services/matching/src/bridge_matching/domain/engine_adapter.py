"""Turns stored participants into engine inputs; the engine works on employee ids within a cohort."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge_matching.engine import AvailabilityWindow, MatchingPolicy, Participant, Weights


def to_engine(row: Any) -> Participant:
    return Participant(
        id=row["employee_id"],
        role=row["role"],
        seniority=row["seniority_level"],
        department=row["department"],
        manager_id=row["manager_employee_id"],
        region=row["region"],
        languages=frozenset(row["languages"]),
        time_zone=row["timezone"],
        availability=tuple(
            AvailabilityWindow(w["weekday"], w["start"], w["end"]) for w in row["availability"]
        ),
        skills_to_share=frozenset(row["skills_to_share"]),
        skills_to_learn=frozenset(row["skills_to_learn"]),
        capacity=row["capacity"],
        requested_partner_ids=frozenset(row["requested_partners"]),
        blocked_partner_ids=frozenset(row["blocked_partners"]),
        display_name=row["display_name"],
    )


def policy_from(stored: dict[str, Any]) -> MatchingPolicy:
    weights = Weights(**stored.get("weights", {}))
    fields = {k: v for k, v in stored.items() if k != "weights"}
    return MatchingPolicy(weights=weights, **fields)


def engine_population(rows: Sequence[Any]) -> list[Participant]:
    return [to_engine(r) for r in rows]
