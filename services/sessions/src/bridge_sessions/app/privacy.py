"""Data-protection requests from matching (docs/privacy.md), each in the consumer's transaction
(inbox row + effect + answer):

- **erasure** (`ErasureRequestedV1`): the person's open relationships close early (reason
  "erasure", so pair.closed goes out: its sealed fields are erased at write, the keys being gone),
  then `scrub`: their name / e-mail / employee id become placeholders, their private notes and the
  shared notes they wrote are deleted, the free text of feedback they gave is removed (ratings
  stay), the goals they own lose their words, every other text of those relationships (the
  partner's notes, goals and feedback, agreement terms, session fields, cancel reasons, health
  details) is redacted, and actor columns holding their employee id read `ERASED_ID`. In their
  circles (`scrub_circles`): a circle they facilitate, or one that would be left with fewer than two
  members, closes early (reason "erasure", circle.closed); in the others they stop being a member.
  Their member rows read the placeholders, the ideas they brought and the learning topics they were
  part of read `ERASED_TEXT`, their personal goals go, and every other text of those circles is
  redacted. Then `SessionsErasureCompletedV1` with counts. A person sessions never knew is confirmed
  with zeros.
- **export** (`ExportRequestedV1`): everything sessions holds about the person as a
  `SessionsExportPartV1` section (their partner appears by display name only; the partner's private
  notes and the partner's feedback text are never included; in circles, the other members appear by
  display name and generation, and only the person's own ideas and personal goals are included).

`scrub` and `scrub_circles` are also how retention anonymises a long-closed relationship or circle
(app/retention.py).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from bridge_sessions.app.circle_closure import close_circle
from bridge_sessions.app.closure import close_relationship
from bridge_sessions.db import Conn
from bridge_sessions.db import agreements as agreements_db
from bridge_sessions.db import circle_agreements as circle_agreements_db
from bridge_sessions.db import circle_privacy as circle_privacy_db
from bridge_sessions.db import circle_sessions as circle_sessions_db
from bridge_sessions.db import circles as circles_db
from bridge_sessions.db import feedback as feedback_db
from bridge_sessions.db import goals as goals_db
from bridge_sessions.db import privacy as privacy_db
from bridge_sessions.db import sessions as sessions_db
from bridge_sessions.domain.circle_rows import CircleRow
from bridge_sessions.domain.rows import SIDES, RelationshipRow, Side
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.privacy import (
    ErasureRequestedV1,
    ExportRequestedV1,
    SessionsErasureCompletedV1,
    SessionsExportPartV1,
)
from bridge_shared.privacy.answers import confirm_erasure, send_export
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_ID, ERASED_NAME, ERASED_TEXT
from bridge_shared.privacy.redaction import needles_for, redact, redact_json
from bridge_shared.runtime import Runtime

log = logging.getLogger(__name__)

ERASURE_REASON = "erasure"
CLOSED_BY_ERASURE = "erasure"
"""`closed_by` of a relationship closed because one of its people was erased (not an employee id)."""
_PLACEHOLDERS = frozenset({ERASED_NAME, ERASED_EMAIL, ERASED_ID, ERASED_TEXT})


def _real(value: str | None) -> str | None:
    """A stored identifier, unless it is empty or already a placeholder (a second erasure, or a
    partner erased before)."""
    return value if value and value not in _PLACEHOLDERS else None


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """What sessions stores that identifies a person, gathered from their side of each relationship."""

    names: frozenset[str]
    emails: frozenset[str]
    employee_ids: frozenset[str]

    @property
    def needles(self) -> list[str]:
        return needles_for(*self.names, *self.emails, *self.employee_ids)

    def __or__(self, other: Identity) -> Identity:
        return Identity(
            self.names | other.names, self.emails | other.emails, self.employee_ids | other.employee_ids
        )


def identity_of(rels: Iterable[RelationshipRow], participant_ids: Iterable[str]) -> Identity:
    ids = set(participant_ids)
    names: set[str] = set()
    emails: set[str] = set()
    employee_ids: set[str] = set()
    for rel in rels:
        for side in SIDES:
            if rel.participant_id_of(side) not in ids:
                continue
            name = _real(rel.mentor_name if side == "mentor" else rel.mentee_name)
            email = _real(rel.mentor_email if side == "mentor" else rel.mentee_email)
            employee_id = _real(rel.employee_id_of(side))
            names.update(filter(None, [name]))
            emails.update(filter(None, [email]))
            employee_ids.update(filter(None, [employee_id]))
    return Identity(frozenset(names), frozenset(emails), frozenset(employee_ids))


def circle_identity_of(circles: Iterable[CircleRow], participant_ids: Iterable[str]) -> Identity:
    """What the circles store that identifies the people `participant_ids` (their member rows)."""
    ids = set(participant_ids)
    rows = [m for c in circles for m in c.members if m.participant_id in ids]
    return Identity(
        frozenset(filter(None, (_real(m.display_name) for m in rows))),
        frozenset(filter(None, (_real(m.email) for m in rows))),
        frozenset(filter(None, (_real(m.employee_id) for m in rows))),
    )


async def _redact_texts(
    conn: Conn,
    owner_ids: list[UUID] | list[str],
    needles: list[str],
    tables: Sequence[privacy_db.TextTable] = privacy_db.TEXT_TABLES,
) -> int:
    """Every stored text of the relationships (or, with the circle tables, the circles) with the
    needles replaced; returns rows changed."""
    if not needles or not owner_ids:
        return 0
    changed = 0
    for table in tables:
        for row in await privacy_db.texts(conn, table, owner_ids):
            new: dict[str, Any] = {}
            for column, value in row.values.items():
                out = redact(value, needles) if column in table.text else redact_json(value, needles)
                if out != value:
                    new[column] = out
            if new:
                await privacy_db.update_texts(conn, row, new)
                changed += 1
    return changed


async def scrub(
    conn: Conn,
    rels: Sequence[RelationshipRow],
    participant_ids: Sequence[str],
    *,
    identity: Identity | None = None,
) -> Counter[str]:
    """Erases the people `participant_ids` from the relationships `rels` (rows read before this
    call: their identifiers are the needles, with `identity`'s when given). Returns counts by kind.
    Idempotent."""
    counts: Counter[str] = Counter()
    if not rels:
        return counts
    who = identity_of(rels, participant_ids) | (identity or Identity(frozenset(), frozenset(), frozenset()))
    rel_ids = [r.id for r in rels]
    employee_ids = sorted(who.employee_ids)
    counts["private_notes"] = await privacy_db.delete_private_notes(conn, rel_ids, employee_ids)
    counts["shared_notes"] = await privacy_db.delete_shared_notes(conn, rel_ids, employee_ids)
    counts["feedback_texts"] = await privacy_db.clear_feedback_text(conn, rel_ids, participant_ids)
    counts["goals"] = await privacy_db.erase_goals(conn, rel_ids, participant_ids)
    counts["texts_redacted"] = await _redact_texts(conn, rel_ids, who.needles)
    counts["actor_ids"] = await privacy_db.replace_actor_ids(conn, rel_ids, employee_ids)
    counts["relationships"] = await privacy_db.anonymise_people(conn, rel_ids, participant_ids)
    counts["outbox_records"] = await privacy_db.delete_published_outbox(conn, [str(i) for i in rel_ids])
    return counts


async def scrub_circles(
    conn: Conn,
    circles: Sequence[CircleRow],
    participant_ids: Sequence[str],
    now: datetime,
    *,
    identity: Identity | None = None,
) -> Counter[str]:
    """Erases the people `participant_ids` from the circles `circles` (read before this call: their
    member rows give the needles, with `identity`'s when given): every text redacted, their ideas and
    learning topics and personal goals gone, their member rows anonymised (no longer members), the
    circles' published outbox records deleted. Returns counts by kind. Idempotent."""
    counts: Counter[str] = Counter()
    if not circles:
        return counts
    who = circle_identity_of(circles, participant_ids) | (
        identity or Identity(frozenset(), frozenset(), frozenset())
    )
    ids = [c.id for c in circles]
    counts["texts_redacted"] = await _redact_texts(conn, ids, who.needles, circle_privacy_db.TEXT_TABLES)
    counts["circle_ideas"] = await circle_privacy_db.erase_ideas(conn, ids, participant_ids)
    counts["circle_learning"] = await circle_privacy_db.erase_learning(conn, ids, participant_ids)
    counts["circle_goals"] = await circle_privacy_db.erase_personal_goals(conn, ids, participant_ids)
    counts["circles"] = await circle_privacy_db.anonymise_members(conn, ids, participant_ids, now)
    counts["outbox_records"] = await privacy_db.delete_published_outbox(conn, ids)
    return counts


def _ends_with_erasure(circle: CircleRow, participant_ids: set[str]) -> bool:
    """Whether erasing these people leaves the circle without its facilitator or with fewer than
    two members: then it closes."""
    left = [m for m in circle.active_members if m.participant_id not in participant_ids]
    return circle.facilitator_id in participant_ids or len(left) < 2


ERASURE_KINDS = (
    "relationships",
    "relationships_closed",
    "circles",
    "circles_closed",
    "circle_ideas",
    "circle_learning",
    "circle_goals",
    "private_notes",
    "shared_notes",
    "feedback_texts",
    "goals",
    "texts_redacted",
    "actor_ids",
    "outbox_records",
)


async def erase(rt: Runtime[SessionsSettings], conn: Conn, req: ErasureRequestedV1) -> None:
    """Erases the person `req.participant_ids` in the consumer's transaction, then confirms."""
    now = rt.clock.now()
    ids = list(req.participant_ids)
    rels = await privacy_db.relationships_of(conn, ids, lock=True)
    closed = 0
    for rel in rels:
        if rel.status == "closed":
            continue
        done = await close_relationship(
            conn,
            rt.outbox,
            rt.settings,
            rel.id,
            outcome="ended_early",
            reason=ERASURE_REASON,
            closed_by=CLOSED_BY_ERASURE,
            now=now,
        )
        closed += done is not None
    circles = await circles_db.of_participants(conn, ids, lock=True)
    circles_closed = 0
    for circle in circles:
        if circle.status == "closed" or not _ends_with_erasure(circle, set(ids)):
            continue
        done_circle = await close_circle(
            conn,
            rt.outbox,
            rt.settings,
            circle.id,
            outcome="ended_early",
            reason=ERASURE_REASON,
            closed_by=CLOSED_BY_ERASURE,
            now=now,
        )
        circles_closed += done_circle is not None
    # Both read before anything changed: the person's identifiers from either are the needles in both.
    who = identity_of(rels, ids) | circle_identity_of(circles, ids)
    counts = await scrub(conn, rels, ids, identity=who)
    counts += await scrub_circles(conn, circles, ids, now, identity=who)
    counts["relationships_closed"] = closed
    counts["circles_closed"] = circles_closed
    erased = {k: int(counts.get(k, 0)) for k in ERASURE_KINDS}
    await confirm_erasure(
        conn,
        rt.outbox,
        SessionsErasureCompletedV1,
        erasure_id=req.erasure_id,
        participant_ids=ids,
        erased=erased,
        now=now,
    )
    log.info(
        "erasure %s: %s",
        req.erasure_id,
        ", ".join(f"{k}={v}" for k, v in erased.items() if v) or "nothing held",
    )


# -- export --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-able copy: ISO dates and times, UUIDs as strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


async def export_section(conn: Conn, participant_ids: Sequence[str]) -> dict[str, Any]:
    """Everything sessions holds about the person, as the `data` of SessionsExportPartV1."""
    ids = set(participant_ids)
    rels = await privacy_db.relationships_of(conn, sorted(ids))
    mine = identity_of(rels, ids).employee_ids
    relationships: list[dict[str, Any]] = []
    agreements: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    shared_notes: list[dict[str, Any]] = []
    goals: list[dict[str, Any]] = []
    given: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []
    for rel in rels:
        side: Side = "mentor" if rel.mentor_id in ids else "mentee"
        other: Side = "mentee" if side == "mentor" else "mentor"
        partner_employee = rel.employee_id_of(other)

        def who(actor: str | None, partner_employee: str = partner_employee) -> str | None:
            if actor is None:
                return None
            if actor in mine:
                return "you"
            return "partner" if actor == partner_employee else "other"

        rid = str(rel.id)
        relationships.append(
            {
                "relationship_id": rid,
                "cohort_id": rel.cohort_id,
                "pair_id": rel.pair_id,
                "participant_id": rel.participant_id_of(side),
                "role": side,
                "you": {
                    "display_name": rel.mentor_name if side == "mentor" else rel.mentee_name,
                    "email": rel.mentor_email if side == "mentor" else rel.mentee_email,
                    "employee_id": rel.employee_id_of(side),
                    "timezone": rel.timezone_of(side),
                    "region": rel.region_of(side),
                },
                "partner": {
                    "display_name": rel.mentor_name if other == "mentor" else rel.mentee_name,
                    "role": other,
                },
                "status": rel.status,
                "started_at": rel.started_at,
                "planned_end": rel.planned_end,
                "closed_at": rel.closed_at,
                "outcome": rel.outcome,
                "close_reason": rel.close_reason,
                "closed_by": who(rel.closed_by),
                "left_the_company": None
                if rel.left_participant_id is None
                else ("you" if rel.left_participant_id in ids else "partner"),
            }
        )
        for a in await agreements_db.all_versions(conn, rel.id):
            agreements.append(
                {
                    "relationship_id": rid,
                    "version": a.version,
                    "status": a.status,
                    "drafted_by": who(a.drafted_by),
                    "drafted_at": a.drafted_at,
                    "activated_at": a.activated_at,
                    "mentor_learning": a.mentor_learning,
                    "mentee_learning": a.mentee_learning,
                    "cadence_days": a.cadence_days,
                    "meeting_mode": a.meeting_mode,
                    "meeting_place": a.meeting_place,
                    "rules_of_engagement": a.rules_of_engagement,
                    "start_date": a.start_date,
                    "end_date": a.end_date,
                    "confirmed_by_you_at": a.mentor_confirmed_at
                    if side == "mentor"
                    else a.mentee_confirmed_at,
                }
            )
        for s in await sessions_db.for_relationship(conn, rel.id):
            sessions.append(
                {
                    "relationship_id": rid,
                    "session_id": str(s.id),
                    "status": s.status,
                    "starts_at": s.starts_at,
                    "duration_minutes": s.duration_minutes,
                    "location": s.location,
                    "scheduled_by": who(s.scheduled_by),
                    "held_at": s.held_at,
                    "actual_duration_minutes": s.actual_duration_minutes,
                    "topics": s.topics,
                    "action_items": s.action_items,
                    "cancelled_at": s.cancelled_at,
                    "cancelled_by": who(s.cancelled_by),
                    "cancel_reason": s.cancel_reason,
                }
            )
            if s.shared_notes is not None:
                shared_notes.append(
                    {
                        "relationship_id": rid,
                        "session_id": str(s.id),
                        "written_by": who(s.shared_notes_by),
                        "body": s.shared_notes,
                    }
                )
        for g in await goals_db.for_relationship(conn, rel.id):
            if g.owner_participant_id not in ids:
                continue
            goals.append(
                {
                    "relationship_id": rid,
                    **dataclasses.asdict(g),
                    "check_ins": [dataclasses.asdict(c) for c in await goals_db.check_ins(conn, g.id)],
                }
            )
        for f in await feedback_db.for_relationship(conn, rel.id, None):
            entry = {
                "relationship_id": rid,
                "feedback_id": str(f.id),
                "kind": f.kind,
                "session_id": f.session_id,
                "rating": f.rating,
                "recommend_score": f.recommend_score,
                "submitted_at": f.submitted_at,
            }
            if f.by_participant_id in ids:
                given.append({**entry, "comment": f.comment, "learned": f.learned, "taught": f.taught})
            else:
                received.append(entry)  # the partner's words are theirs: ratings only
    notes = await privacy_db.private_notes_by(conn, [r.id for r in rels], sorted(mine))
    private_notes = [dataclasses.asdict(n) for n in notes]
    held = sum(s["status"] == "held" for s in sessions)
    cancelled = sum(s["status"] == "cancelled" for s in sessions)
    summary = (
        [
            f"{_plural(len(relationships), 'mentoring relationship')} "
            f"({sum(r['role'] == 'mentor' for r in relationships)} as reverse mentor, "
            f"{sum(r['role'] == 'mentee' for r in relationships)} as mentee), "
            f"{sum(r['status'] == 'closed' for r in relationships)} of them closed.",
            f"{_plural(len(agreements), 'agreement version')}.",
            f"{_plural(held, 'session')} held, {cancelled} cancelled, "
            f"{len(sessions) - held - cancelled} scheduled.",
            f"{_plural(len(shared_notes), 'shared note')} of your relationships and "
            f"{_plural(len(private_notes), 'private note')} of your own (your partners' private notes are "
            "theirs and not included).",
            f"{_plural(len(goals), 'goal')} of your own, "
            f"{sum(g['status'] == 'achieved' for g in goals)} achieved.",
            f"{len(given)} feedback {'entry' if len(given) == 1 else 'entries'} given (with your words); "
            f"{_plural(len(received), 'rating')} received from your partners (their free text is theirs "
            "and not included).",
        ]
        if relationships
        else ["Sessions holds no mentoring relationship for you."]
    )
    circles = await circle_export(conn, ids)
    summary.append(circles.pop("summary"))
    section: dict[str, Any] = _plain(
        {
            "service": "sessions",
            "summary": summary,
            "relationships": relationships,
            "agreements": agreements,
            "sessions": sessions,
            "shared_notes": shared_notes,
            "private_notes": private_notes,
            "goals": goals,
            "feedback_given": given,
            "ratings_received": received,
            **circles,
        }
    )
    return section


async def circle_export(conn: Conn, ids: set[str]) -> dict[str, Any]:
    """The person's circles: what sessions stores about them there, the circle's agreements (their own
    personal goal only), its sessions (whether they attended), the ideas they brought and the learning
    they gave or received. Other members appear by display name and generation; their personal goals
    and ideas are theirs and not included."""
    out: dict[str, list[dict[str, Any]]] = {
        "circles": [],
        "circle_agreements": [],
        "circle_sessions": [],
        "circle_ideas": [],
        "circle_learning": [],
    }
    for circle in await circles_db.of_participants(conn, sorted(ids)):
        me = next(m for m in circle.members if m.participant_id in ids)
        names = {m.participant_id: m.display_name for m in circle.members}

        def who(actor: str | None, me: str = me.participant_id) -> str | None:
            return None if actor is None else ("you" if actor == me else "member")

        out["circles"].append(
            {
                "circle_id": circle.id,
                "cohort_id": circle.cohort_id,
                "participant_id": me.participant_id,
                "role": "facilitator" if circle.facilitator_id == me.participant_id else "member",
                "you": {
                    "display_name": me.display_name,
                    "email": me.email,
                    "employee_id": me.employee_id,
                    "timezone": me.timezone,
                    "region": me.region,
                    "generation": me.generation,
                    "locale": me.locale,
                },
                "members": [
                    {
                        "display_name": m.display_name,
                        "generation": m.generation,
                        "facilitator": m.participant_id == circle.facilitator_id,
                    }
                    for m in circle.members
                    if m.participant_id != me.participant_id
                ],
                "status": circle.status,
                "started_at": circle.started_at,
                "planned_end": circle.planned_end,
                "closed_at": circle.closed_at,
                "outcome": circle.outcome,
                "close_reason": circle.close_reason,
            }
        )
        for a in await circle_agreements_db.all_versions(conn, circle.id):
            part = a.part_of(me.participant_id)
            out["circle_agreements"].append(
                {
                    "circle_id": circle.id,
                    "version": a.version,
                    "status": a.status,
                    "drafted_by": who(a.drafted_by),
                    "drafted_at": a.drafted_at,
                    "activated_at": a.activated_at,
                    "shared_goals": a.shared_goals,
                    "cadence_days": a.cadence_days,
                    "rules_of_engagement": a.rules_of_engagement,
                    "end_date": a.end_date,
                    "your_personal_goal": part.personal_goal if part else None,
                    "confirmed_by_you_at": part.confirmed_at if part else None,
                }
            )
        sessions = await circle_sessions_db.details(
            conn, await circle_sessions_db.for_circle(conn, circle.id)
        )
        for d in sessions:
            s = d.session
            out["circle_sessions"].append(
                {
                    "circle_id": circle.id,
                    "session_id": str(s.id),
                    "status": s.status,
                    "starts_at": s.starts_at,
                    "duration_minutes": s.duration_minutes,
                    "location": s.location,
                    "activity_id": s.activity_id,
                    "scheduled_by": who(s.scheduled_by),
                    "held_at": s.held_at,
                    "you_attended": None if s.status != "held" else me.participant_id in d.attended_ids,
                    "cancelled_at": s.cancelled_at,
                    "cancelled_by": who(s.cancelled_by),
                    "cancel_reason": s.cancel_reason,
                }
            )
            out["circle_ideas"] += [
                {"circle_id": circle.id, "session_id": str(s.id), "text": i["text"]}
                for i in d.ideas
                if i["participant_id"] == me.participant_id
            ]
            out["circle_learning"] += [
                {
                    "circle_id": circle.id,
                    "session_id": str(s.id),
                    "you": "taught" if f["from_id"] == me.participant_id else "learnt",
                    "with": names.get(f["to_id"] if f["from_id"] == me.participant_id else f["from_id"]),
                    "topic": f["topic"],
                }
                for f in d.learning
                if me.participant_id in (f["from_id"], f["to_id"])
            ]
    n = len(out["circles"])
    summary = (
        f"{_plural(n, 'mentoring circle')} ({sum(c['role'] == 'facilitator' for c in out['circles'])} "
        f"as facilitator), {_plural(len(out['circle_sessions']), 'circle session')}, "
        f"{_plural(len(out['circle_ideas']), 'idea')} you brought and "
        f"{_plural(len(out['circle_learning']), 'learning record')} you were part of (other members' "
        "ideas and personal goals are theirs and not included)."
        if n
        else "Sessions holds no mentoring circle for you."
    )
    return {"summary": summary, **out}


async def export(rt: Runtime[SessionsSettings], conn: Conn, req: ExportRequestedV1) -> None:
    """Answers an export request with sessions' section, in the consumer's transaction."""
    section = await export_section(conn, req.participant_ids)
    parts = await send_export(
        conn,
        rt.outbox,
        SessionsExportPartV1,
        export_id=req.export_id,
        participant_ids=list(req.participant_ids),
        section=section,
    )
    log.info("export %s: %d relationships in %d part(s)", req.export_id, len(section["relationships"]), parts)
