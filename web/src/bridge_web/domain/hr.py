"""Pure helpers of the HR pages: the cohort form, the policy weights and what each means, the steps of
a cohort's life, score breakdowns and the people of a cohort by id. No I/O, no web framework."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime

from bridge_web.domain.i18n import N_

PHASES: tuple[str, ...] = ("draft", "enrolling", "matching", "active", "closing", "closed")
NEXT_PHASE: dict[str, str] = dict(itertools.pairwise(PHASES))
ENROLMENT_PHASES = frozenset({"draft", "enrolling"})
MATCHING_PHASES = frozenset({"matching", "active"})

PHASE_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "enrolling": N_("Enrolling"),
    "matching": N_("Matching"),
    "active": N_("Active"),
    "closing": N_("Closing"),
    "closed": N_("Closed"),
}

RUN_STATUS_LABELS: dict[str, str] = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "draft": N_("Draft ready for review"),
    "failed": N_("Failed"),
    "published": N_("Published"),
    "superseded": N_("Superseded"),
}

IMPORT_STATUS_LABELS: dict[str, str] = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "completed": N_("Completed"),
    "failed": N_("Failed"),
}

PROPOSAL_STATUS_LABELS: dict[str, str] = {
    "pending": N_("Waiting for answers"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
}

PAIR_STATUS_LABELS: dict[str, str] = {
    "formed": N_("Formed"),
    "dissolved": N_("Dissolved"),
    "ended": N_("Ended"),
}

CIRCLE_STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "proposed": N_("Proposed"),
    "formed": N_("Formed"),
    "dissolved": N_("Dissolved"),
}

ANSWER_LABELS: dict[str, str] = {
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
}

FORMAT_LABELS: dict[str, str] = {"pairs": N_("One-to-one pairs"), "circles": N_("Mentoring circles")}


@dataclass(frozen=True)
class Weight:
    """One soft criterion of matching's policy (`policy.weights`), with a sentence saying what it does."""

    name: str
    label: str
    help: str
    default: float


WEIGHTS: tuple[Weight, ...] = (
    Weight(
        "skills_mentor_to_mentee",
        N_("Mentor teaches mentee"),
        N_("How much it counts that the mentor shares the skills the mentee wants to learn."),
        3.0,
    ),
    Weight(
        "skills_mentee_to_mentor",
        N_("Mentee teaches mentor"),
        N_(
            "How much it counts that learning flows back: the mentee shares skills the mentor wants to learn."
        ),
        2.0,
    ),
    Weight(
        "availability",
        N_("Time together"),
        N_("How much it counts that the two have enough free hours in common every week."),
        1.0,
    ),
    Weight(
        "cross_department",
        N_("Different departments"),
        N_("How much it counts that the two work in different departments."),
        1.0,
    ),
    Weight(
        "requested_partner",
        N_("Requested partner"),
        N_("How much it counts that one of the two asked to be paired with the other."),
        2.0,
    ),
    Weight(
        "meeting_preference",
        N_("Meeting preference"),
        N_("How much it counts that the two would like to meet the same way (in person or by video)."),
        1.0,
    ),
)
WEIGHT_NAMES = tuple(w.name for w in WEIGHTS)
MAX_WEIGHT = 100.0

_REGION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def split_list(text: str) -> list[str]:
    """Items of a free-text list separated by commas, semicolons or new lines, trimmed, each once."""
    seen: dict[str, None] = {}
    for item in re.split(r"[,;\n]", text):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


@dataclass
class CohortForm:
    """What HR typed into the new-cohort form, and the field errors found before asking matching."""

    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


DATE_FIELDS = ("enrolment_opens", "enrolment_closes", "matching_date", "programme_start", "programme_end")


def default_cohort_values() -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "",
        "regions": "",
        "hr_contact_email": "",
        "skill_taxonomy": "",
        "formats": ["pairs"],
    }
    values.update({d: "" for d in DATE_FIELDS})
    values.update({f"weight_{w.name}": _number_text(w.default) for w in WEIGHTS})
    return values


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_cohort_form(form: Mapping[str, str], formats: Iterable[str]) -> tuple[CohortForm, dict[str, Any]]:
    """The form's values (to show again) and the body of matching's `POST /cohorts`. Field errors use
    the form's field names; messages are untranslated English marked with N_ (the page translates)."""
    values = default_cohort_values()
    for key in values:
        if key != "formats" and key in form:
            values[key] = str(form[key]).strip()
    chosen = [f for f in ("pairs", "circles") if f in set(formats)]
    values["formats"] = chosen
    out = CohortForm(values)
    if not values["name"]:
        out.error("name", N_("Give the cohort a name."))
    regions = split_list(values["regions"])
    if not regions:
        out.error("regions", N_("Name at least one region."))
    elif any(not _REGION.match(r) for r in regions):
        out.error("regions", N_("Regions are codes of letters, digits, - and _ (for example EMEA)."))
    if not values["hr_contact_email"] or "@" not in values["hr_contact_email"]:
        out.error("hr_contact_email", N_("Give the e-mail address of the HR contact."))
    if not chosen:
        out.error("formats", N_("Choose at least one format."))
    body: dict[str, Any] = {
        "name": values["name"],
        "regions": regions,
        "hr_contact_email": values["hr_contact_email"],
        "formats": chosen,
        "skill_taxonomy": split_list(values["skill_taxonomy"]),
    }
    for name in DATE_FIELDS:
        text = values[name]
        if not text:
            continue
        try:
            body[name] = date.fromisoformat(text).isoformat()
        except ValueError:
            out.error(name, N_("Enter a date as YYYY-MM-DD."))
    weights: dict[str, float] = {}
    for w in WEIGHTS:
        key = f"weight_{w.name}"
        try:
            value = float(values[key].replace(",", "."))
        except ValueError:
            out.error(key, N_("Enter a number from 0 to 100."))
            continue
        if not 0 <= value <= MAX_WEIGHT:
            out.error(key, N_("Enter a number from 0 to 100."))
            continue
        weights[w.name] = value
    body["policy"] = {"weights": weights}
    return out, body


def form_field_of(api_field: str) -> str:
    """A field of matching's cohort body (`policy.weights.availability`, `regions.0`, `body.name`) as
    the form's field name."""
    parts = [p for p in api_field.split(".") if p and p != "body"]
    if len(parts) >= 3 and parts[0] == "policy" and parts[1] == "weights":
        return f"weight_{parts[2]}"
    if parts and parts[0] in ("regions", "skill_taxonomy", "formats"):
        return parts[0]
    return parts[0] if parts else ""


@dataclass(frozen=True)
class Step:
    """One step of running a cohort, with where the cohort is."""

    key: str
    label: str
    state: str  # done, current, todo
    href: str | None


def steps(cohort: Mapping[str, Any], *, participants: int, runs: Sequence[Mapping[str, Any]]) -> list[Step]:
    """The cohort's way from creation to the dashboard, and which step it is at."""
    cid = cohort["id"]
    phase = str(cohort["phase"])
    at = PHASES.index(phase) if phase in PHASES else 0
    has_draft = any(r.get("status") == "draft" for r in runs)
    published = any(r.get("status") == "published" for r in runs)
    base = f"/hr/cohorts/{cid}"
    plan: list[tuple[str, str, bool, str | None]] = [
        ("create", N_("Create the cohort"), True, None),
        ("enrol", N_("Open enrolment"), at >= 1, None),
        ("import", N_("Import participants (HRIS file)"), participants > 0, f"{base}/import"),
        ("matching_phase", N_("Start the matching phase"), at >= 2, None),
        ("run", N_("Run matching and review the draft"), has_draft or published, f"{base}/matching"),
        ("publish", N_("Publish proposals"), published, f"{base}/matching"),
        ("follow", N_("Follow proposals and pairs"), at >= 3, f"{base}/proposals"),
        ("dashboard", N_("Programme dashboard"), at >= 3, f"{base}/dashboard"),
    ]
    out: list[Step] = []
    current_seen = False
    for key, label, done, href in plan:
        if done:
            state = "done"
        elif not current_seen:
            state, current_seen = "current", True
        else:
            state = "todo"
        out.append(Step(key, label, state, href))
    return out


@dataclass(frozen=True)
class ScoreLine:
    name: str
    label: str
    value: float  # the criterion's value, 0..1
    weight: float
    points: float  # value x weight


def score_lines(breakdown: Mapping[str, float], weights: Mapping[str, float]) -> list[ScoreLine]:
    """A pair's score breakdown as lines: each criterion's value, its weight and the points it gave."""
    lines = []
    for w in WEIGHTS:
        value = float(breakdown.get(w.name, 0.0))
        weight = float(weights.get(w.name, w.default))
        lines.append(ScoreLine(w.name, w.label, value, weight, value * weight))
    return lines


@dataclass(frozen=True)
class Person:
    participant_id: str
    employee_id: str
    name: str
    region: str
    department: str


def people_by_id(participants: Iterable[Mapping[str, Any]]) -> dict[str, Person]:
    """Participants by participant id and by employee id (both are used by the APIs)."""
    out: dict[str, Person] = {}
    for p in participants:
        person = Person(
            str(p["id"]),
            str(p["employee_id"]),
            str(p.get("display_name") or p["employee_id"]),
            str(p.get("region") or ""),
            str(p.get("department") or ""),
        )
        out[person.participant_id] = person
        out[person.employee_id.casefold()] = person
    return out


def name_of(people: Mapping[str, Person], key: object, fallback: str | None = None) -> str:
    """The display name for a participant id or employee id; the id itself when not known (another
    region's person, whom the API does not show)."""
    text = str(key)
    person = people.get(text) or people.get(text.casefold())
    if person is not None:
        return person.name
    return fallback if fallback is not None else text


def latest_run(runs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The run HR works on: the newest that is not superseded (runs come newest first or oldest first:
    sort by creation time)."""
    live = [r for r in runs if r.get("status") != "superseded"]
    if not live:
        return None
    return max(live, key=lambda r: str(r.get("created_at", "")))


def run_in_progress(run: Mapping[str, Any] | None) -> bool:
    return run is not None and run.get("status") in ("queued", "running")


def percent(value: float | None) -> float | None:
    return None if value is None else value * 100.0


GENERATION_LABELS: dict[str, str] = {"junior": N_("Junior"), "senior": N_("Senior"), "other": N_("Neither")}
MEMBER_STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "invited": N_("No answer yet"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "expired": N_("Did not answer in time"),
    "left": N_("Left"),
    "released": N_("Released"),
}


def language_name(code: str | None, locale: str) -> str:
    """A language code's name in the reader's language (the code when Babel does not know it)."""
    if not code:
        return ""
    try:
        name = Locale.parse(locale).languages.get(code)
    except (ValueError, UnknownLocaleError):
        name = None
    return str(name) if name else code


def slot_text(slot: Mapping[str, Any] | None, *, locale: str, tz: str, today: date) -> str:
    """A circle's weekly slot (a UTC weekday and minute) in the reader's time zone and language, for
    the week of `today`: "Monday 14:00 to 15:00"."""
    if not slot:
        return ""
    weekday, minute, duration = int(slot["weekday"]), int(slot["start_minute"]), int(slot["duration_minutes"])
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday + timedelta(days=weekday), dtime(0, 0), tzinfo=UTC) + timedelta(
        minutes=minute
    )
    zone = ZoneInfo(tz) if tz in available_timezones() else ZoneInfo("UTC")
    local_start = start.astimezone(zone)
    local_end = (start + timedelta(minutes=duration)).astimezone(zone)
    day = format_datetime(local_start, "EEEE", locale=locale)
    return f"{day} {local_start:%H:%M}\N{EN DASH}{local_end:%H:%M} ({tz})"
