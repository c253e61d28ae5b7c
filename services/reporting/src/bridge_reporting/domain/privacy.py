"""Pure parts of erasure and export: redacting texts, the export's readable summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bridge_shared.privacy.redaction import redact, redact_json


@dataclass(frozen=True, slots=True)
class Text:
    """A row's texts: `text` (a summary, a risk detail) and `detail` (a timeline's JSON, or None)."""

    key: str
    text: str | None
    detail: Any = None  # JSON of any shape


def redact_rows(rows: Sequence[Text], needles: Sequence[str]) -> list[Text]:
    """The rows whose texts name someone in `needles`, redacted (unchanged rows are left out)."""
    if not needles:
        return []
    out = []
    for row in rows:
        text = redact(row.text, needles) if row.text is not None else None
        detail = redact_json(row.detail, needles) if row.detail is not None else None
        if text != row.text or detail != row.detail:
            out.append(replace(row, text=text, detail=detail))
    return out


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def export_summary(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Readable sentences about an export section (see db/privacy.person_rows for the kinds)."""
    enrolments = rows.get("enrolments", [])
    pairs = rows.get("pairs", [])
    sessions = rows.get("sessions", [])
    held = sum(1 for s in sessions if s.get("held_at"))
    cohorts = sorted({str(e["cohort_id"]) for e in enrolments})
    out = [
        f"Reporting holds programme facts about you from {_n(len(cohorts), 'cohort')}"
        + (f" ({', '.join(cohorts)})." if cohorts else "."),
    ]
    for e in enrolments:
        where = ", ".join(str(e[k]) for k in ("region", "department", "band") if e.get(k))
        out.append(
            f"Enrolled in {e['cohort_id']} as {e.get('role') or 'participant'}"
            + (f" ({where})." if where else ".")
        )
    if pairs:
        roles = ", ".join(sorted({str(p["role"]) for p in pairs}))
        out.append(f"{_n(len(pairs), 'pair')} ({roles}); {_n(held, 'session')} held.")
    goals = rows.get("goals", [])
    if goals:
        achieved = sum(1 for g in goals if g.get("achieved_at"))
        out.append(f"{_n(len(goals), 'goal')} set in your pairs, {achieved} achieved.")
    given = rows.get("feedback_given", [])
    if given:
        out.append(f"{_n(len(given), 'feedback response')} given by you (ratings and scores only).")
    changes = rows.get("company_directory", [])
    if changes:
        kinds = sorted({"left the company" if c.get("kind") == "left" else "moved" for c in changes})
        out.append(f"{_n(len(changes), 'change')} from the company directory ({', '.join(kinds)}).")
    circles = rows.get("circles", [])
    if circles:
        held = sum(int(c.get("sessions_held") or 0) for c in circles)
        attended = sum(int(c.get("sessions_attended") or 0) for c in circles)
        led = sum(1 for c in circles if c.get("facilitator"))
        out.append(
            f"{_n(len(circles), 'mentoring circle')}"
            + (f" ({led} as facilitator)" if led else "")
            + f"; {attended} of {_n(held, 'group session')} attended."
        )
    flows = rows.get("circle_learning", [])
    if flows:
        taught = sum(1 for f in flows if f.get("role") == "taught")
        out.append(
            f"{_n(len(flows), 'learning flow')} recorded with you in circles ({taught} taught, "
            f"{len(flows) - taught} learned; directions only)."
        )
    notes = rows.get("notifications", [])
    if notes:
        out.append(f"{_n(len(notes), 'notification')} to you recorded (channel, kind, outcome).")
    out.append("Reporting keeps no e-mail addresses, notes or feedback text.")
    return out
