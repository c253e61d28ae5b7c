"""Builds the public event payloads from stored rows."""

from __future__ import annotations

from typing import Any

from bridge_shared.contracts.matching import ParticipantRef


def participant_ref(row: Any) -> ParticipantRef:
    return ParticipantRef(
        participant_id=str(row["id"]),
        employee_id=row["employee_id"],
        display_name=row["display_name"],
        email=row["email"],
        region=row["region"],
        department=row["department"],
        seniority_level=row["seniority_level"],
        timezone=row["timezone"],
        locale=row["locale"],
    )
