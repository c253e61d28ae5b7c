"""Pure helpers of the participant pages: view models, form parsing, weekly availability, topics,
field errors. Nothing here calls a service."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from bridge_web.domain.formatting import parse_datetime
from bridge_web.domain.i18n import N_

Side = Literal["mentor", "mentee"]
Response = Literal["accept", "decline"]
SIDES: tuple[Side, Side] = ("mentor", "mentee")

# The score components of a proposal (matching's ScoreBreakdown), in words.
BREAKDOWN_LABELS: dict[str, str] = {
    "skills_mentor_to_mentee": N_("Skills the reverse mentor shares with the leader"),
    "skills_mentee_to_mentor": N_("Skills the leader shares back"),
    "availability": N_("Time you are both free"),
    "cross_department": N_("Different departments"),
    "requested_partner": N_("Requested partner"),
    "meeting_preference": N_("How you like to meet"),
}
WEEKDAY_LABELS: tuple[str, ...] = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
MEETING_MODES: dict[str, str] = {
    "video": N_("Video call"),
    "in_person": N_("In person"),
    "phone": N_("Phone"),
    "hybrid": N_("Hybrid"),
}
MEETING_PREFERENCES: dict[str, str] = {
    "either": N_("Either"),
    "video": N_("Video call"),
    "in_person": N_("In person"),
}
RISK_LABELS: dict[str, str] = {
    "inactive": N_("No session for a while"),
    "cadence_slipping": N_("Meeting less often than agreed"),
    "one_directional": N_("Learning goes mostly one way"),
    "falling_attendance": N_("Attendance is falling"),
    "dominant_voice": N_("One voice dominates"),
}
STATUS_LABELS: dict[str, str] = {
    "pending": N_("Waiting for answers"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
    "forming": N_("Getting started: no agreement in force yet"),
    "active": N_("Active"),
    "closed": N_("Closed"),
    "scheduled": N_("Scheduled"),
    "held": N_("Held"),
    "open": N_("Open"),
    "achieved": N_("Achieved"),
    "abandoned": N_("Abandoned"),
    "formed": N_("Formed"),
    "dissolved": N_("Dissolved"),
    "ended": N_("Ended"),
    "proposed": N_("Proposed"),
    "invited": N_("Invited"),
    "draft": N_("Draft"),
}
DIRECTION_LABELS: dict[str, str] = {
    "mentor_to_mentee": N_("The reverse mentor taught"),
    "mentee_to_mentor": N_("The leader advised back"),
}

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_END = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")
MAX_WINDOWS_PER_DAY = 2


def lines(text: str | None) -> list[str]:
    """The non-empty lines of a textarea, trimmed, repeats (case-insensitive) left out."""
    seen: dict[str, str] = {}
    for raw in (text or "").splitlines():
        item = " ".join(raw.split())
        if item:
            seen.setdefault(item.casefold(), item)
    return list(seen.values())


def comma_list(text: str | None) -> list[str]:
    """Comma- or line-separated tags (skills, languages), trimmed, without repeats."""
    return lines((text or "").replace(",", "\n"))


def optional_text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


# -- field errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldMessage:
    field: str
    message: str


def form_errors(
    errors: Iterable[FieldMessage | Any], aliases: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """A problem's field errors keyed by form field name: `body.`/`query.` dropped, list positions
    dropped, dots joined with `_` (`mentor.learning_goals.0` -> `mentor_learning_goals`); `aliases`
    renames what is left. A whole-body error naming a field in its message is put beside that field."""
    out: dict[str, list[str]] = {}
    names = dict(aliases or {})
    for error in errors:
        raw = str(getattr(error, "field", "") or "")
        message = str(getattr(error, "message", "") or "")
        parts = [p for p in raw.split(".") if p and not p.isdigit() and p not in ("body", "query", "path")]
        name = "_".join(parts) if parts else ""
        if name in ("", "(body)"):
            name = next((k for k in ("end_date", "start_date", "starts_at") if k in message), "")
        name = names.get(name, name)
        out.setdefault(name, []).append(message)
    return out


# -- availability ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRow:
    """One editable slot: the form's `avail_<weekday>_<n>_start|end`."""

    weekday: int
    index: int
    start: str
    end: str

    @property
    def prefix(self) -> str:
        return f"avail_{self.weekday}_{self.index}"


def availability_rows(windows: Sequence[Mapping[str, Any]]) -> list[list[WindowRow]]:
    """Per weekday (Monday first) the windows as stored, padded with empty slots to at least
    MAX_WINDOWS_PER_DAY, so the form shows every window and room for one more."""
    days: list[list[WindowRow]] = []
    for weekday in range(7):
        own = [w for w in windows if int(w.get("weekday", -1)) == weekday]
        own.sort(key=lambda w: str(w.get("start", "")))
        size = max(MAX_WINDOWS_PER_DAY, len(own))
        rows = [
            WindowRow(
                weekday,
                i,
                str(own[i]["start"]) if i < len(own) else "",
                str(own[i]["end"]) if i < len(own) else "",
            )
            for i in range(size)
        ]
        days.append(rows)
    return days


@dataclass
class ParsedWindows:
    windows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def parse_availability(form: Mapping[str, str]) -> ParsedWindows:
    """The `avail_<weekday>_<n>_start|end` fields as matching's windows (in the person's own time
    zone, as matching stores them). A half-filled slot or a malformed time is a field error."""
    out = ParsedWindows()
    keys = sorted(
        {k.rsplit("_", 1)[0] for k in form if k.startswith("avail_") and k.endswith(("_start", "_end"))}
    )
    for prefix in keys:
        try:
            _, weekday_text, _index = prefix.split("_")
            weekday = int(weekday_text)
        except ValueError:
            continue
        if not 0 <= weekday <= 6:
            continue
        start = (form.get(f"{prefix}_start") or "").strip()
        end = (form.get(f"{prefix}_end") or "").strip()
        if not start and not end:
            continue
        if not _TIME.match(start):
            out.errors.setdefault(f"{prefix}_start", []).append(
                N_("Enter a time as HH:MM, for example 09:00.")
            )
            continue
        if not _END.match(end):
            out.errors.setdefault(f"{prefix}_end", []).append(N_("Enter a time as HH:MM, for example 17:30."))
            continue
        if start == end:
            out.errors.setdefault(f"{prefix}_end", []).append(N_("The end must differ from the start."))
            continue
        out.windows.append({"weekday": weekday, "start": start, "end": end})
    out.windows.sort(key=lambda w: (w["weekday"], w["start"]))
    return out


# -- relationships --------------------------------------------------------------------------------


def other_side(side: Side) -> Side:
    return "mentee" if side == "mentor" else "mentor"


def my_side(rel: Mapping[str, Any]) -> Side | None:
    side = rel.get("my_side")
    return side if side in SIDES else None


def partner_name(rel: Mapping[str, Any]) -> str:
    side = my_side(rel)
    if side is None:
        return f"{rel.get('mentor_name', '')} / {rel.get('mentee_name', '')}"
    return str(rel.get(f"{other_side(side)}_name") or "")


def my_timezone(rel: Mapping[str, Any], fallback: str) -> str:
    side = my_side(rel)
    zone = rel.get(f"{side}_timezone") if side else None
    return str(zone or fallback)


@dataclass(frozen=True)
class SessionLists:
    upcoming: list[dict[str, Any]]
    past: list[dict[str, Any]]


def split_sessions(sessions: Iterable[Mapping[str, Any]], now: datetime) -> SessionLists:
    """Scheduled sessions still to start (soonest first), and everything else (latest first)."""
    upcoming: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    for s in sessions:
        item = dict(s)
        starts = parse_datetime(str(item["starts_at"]))
        (upcoming if item.get("status") == "scheduled" and starts > now else past).append(item)
    upcoming.sort(key=lambda s: str(s["starts_at"]))
    past.sort(key=lambda s: str(s["starts_at"]), reverse=True)
    return SessionLists(upcoming, past)


def session_needs_record(session: Mapping[str, Any], now: datetime) -> bool:
    """A scheduled session that has started: it can be recorded as held."""
    return session.get("status") == "scheduled" and parse_datetime(str(session["starts_at"])) <= now


def topics_from_form(mentor_taught: str | None, mentee_taught: str | None) -> list[dict[str, str]]:
    """The two topic boxes (one topic a line) as sessions' topics with their directions."""
    return [{"topic": t, "direction": "mentor_to_mentee"} for t in lines(mentor_taught)] + [
        {"topic": t, "direction": "mentee_to_mentor"} for t in lines(mentee_taught)
    ]


def local_input_value(value: str | datetime | None, zone_name: str) -> str:
    """An instant as a `datetime-local` input's value in `zone_name` ("" for None)."""
    if not value:
        return ""
    from bridge_web.domain.formatting import zone

    return parse_datetime(value).astimezone(zone(zone_name)).strftime("%Y-%m-%dT%H:%M")


def parse_local_input(value: str | None) -> datetime | None:
    """A `datetime-local` value (wall-clock time, no offset); None when empty or malformed."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=None, second=0, microsecond=0)


def parse_int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


# -- agreement ------------------------------------------------------------------------------------


def agreement_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The agreement form as sessions' AgreementIn (validation is the service's: its field errors
    come back beside the fields)."""

    def plan(side: str) -> dict[str, Any]:
        return {
            "learning_goals": lines(form.get(f"{side}_learning_goals")),
            "success_metrics": lines(form.get(f"{side}_success_metrics")),
            "offers": optional_text(form.get(f"{side}_offers")),
        }

    cadence = parse_int(form.get("cadence_days"))
    return {
        "mentor": plan("mentor"),
        "mentee": plan("mentee"),
        "cadence_days": cadence if cadence is not None else form.get("cadence_days", ""),
        "meeting_mode": form.get("meeting_mode", ""),
        "meeting_place": optional_text(form.get("meeting_place")),
        "rules_of_engagement": lines(form.get("rules_of_engagement")),
        "start_date": (form.get("start_date") or "").strip() or None,
        "end_date": (form.get("end_date") or "").strip() or None,
    }


def agreement_form(version: Mapping[str, Any] | None) -> dict[str, str]:
    """A stored agreement version as the form's values (empty fields without one)."""
    if not version:
        return {"cadence_days": "14", "meeting_mode": "video"}
    out: dict[str, str] = {}
    for side in SIDES:
        plan = version.get(side) or {}
        out[f"{side}_learning_goals"] = "\n".join(plan.get("learning_goals") or [])
        out[f"{side}_success_metrics"] = "\n".join(plan.get("success_metrics") or [])
        out[f"{side}_offers"] = str(plan.get("offers") or "")
    out["cadence_days"] = str(version.get("cadence_days") or "")
    out["meeting_mode"] = str(version.get("meeting_mode") or "")
    out["meeting_place"] = str(version.get("meeting_place") or "")
    out["rules_of_engagement"] = "\n".join(version.get("rules_of_engagement") or [])
    out["start_date"] = str(version.get("start_date") or "")
    out["end_date"] = str(version.get("end_date") or "")
    return out


def awaiting_my_confirmation(pending: Mapping[str, Any] | None, side: Side | None) -> bool:
    return bool(pending and side and pending.get(f"{side}_confirmed_at") is None)


# -- proposals ------------------------------------------------------------------------------------


def chosen_response(value: str | None) -> Response | None:
    return value if value in ("accept", "decline") else None  # type: ignore[return-value]


def proposal_open(proposal: Mapping[str, Any], now: datetime | None = None) -> bool:
    if proposal.get("status") != "pending":
        return False
    expires = proposal.get("expires_at")
    return not expires or parse_datetime(str(expires)) > (now or datetime.now(UTC))


def breakdown_rows(breakdown: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The known score components as (label, share 0-1), in a fixed order; `total` and hours left out."""
    return [(label, float(breakdown[key])) for key, label in BREAKDOWN_LABELS.items() if key in breakdown]


def explanation_parts(explanation: str | None) -> list[str]:
    """matching's explanation ("a; b; c") as its parts, each a sentence of its own."""
    return [p.strip() for p in (explanation or "").split(";") if p.strip()]


# -- links from the inbox -------------------------------------------------------------------------


def local_path(link: str | None) -> str | None:
    """An inbox link as a path on this site (the notifications service writes absolute URLs)."""
    if not link:
        return None
    match = re.match(r"^[a-z]+://[^/]+(/.*)$", link)
    path = match.group(1) if match else link
    return path if path.startswith("/") and not path.startswith("//") else None
