"""The pair timeline entry every pair-related event contributes."""

from __future__ import annotations

from datetime import datetime

from bridge_reporting.domain import tables as t
from bridge_reporting.domain.upsert import Row, Table
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s

Rows = list[tuple[Table, Row]]

_WHO = ("participant_id", "display_name", "region", "department", "seniority_level")


def timeline(
    event_id: str, p: s.RelationshipEvent | m.PairFormedV1 | m.PairDissolvedV1, at: datetime, summary: str
) -> tuple[Table, Row]:
    detail = p.model_dump(mode="json", exclude={"invite"})
    for side in ("mentor", "mentee"):
        if isinstance(detail.get(side), dict):  # keep who, not contact details
            ref = detail[side]
            detail[side] = {k: ref[k] for k in _WHO}
    name = type(p).event_type.removeprefix("com.bridge.").rsplit(".v", 1)[0]
    return t.TIMELINE, {
        "event_id": event_id,
        "pair_id": p.pair_id,
        "cohort_id": p.cohort_id,
        "occurred_at": at,
        "event_type": name,
        "summary": summary,
        "detail": detail,
    }
