"""Mentoring circles (issue 15), the same workflow as pairs: a circle run solves the cohort's free
participants into a draft of circles; HR reviews it (move a member, swap two, remove one, pin a circle
and name its facilitator, re-solve with the pins) and publishes it; each member accepts or declines; a
freed place is refilled from the free participants; once every member accepted the circle is formed.

- A run is solved in the request that starts it: the snapshot is read without locks, the engine
  (`domain.circles.form_circles`, CPU-bound) runs in a worker thread, and the draft is written in one
  short transaction (a new run supersedes the cohort's open draft). People in a live circle (invited
  or accepted) are not free and are left out of the run, as are people HR removed from the draft.
- Every review edit checks the circles it changes against the hard rules (domain/circle_rules.py):
  an edit that would break one is refused (409, naming each circle's broken rules) unless HR forces
  it, and then the circle shows its `violations`. Nothing breaks a rule silently.
- Publishing makes each draft circle proposed (`circle.proposed`, expiry `proposal_ttl_hours`), in
  the publish transaction through the outbox; a draft whose people changed meanwhile is stale (409).
- A decline, an expired invitation, a withdrawal (or leaving the company) or an erasure frees a place
  of a proposed circle: the free participant with whom the circle keeps every hard rule and scores
  best is invited (`circle.refilled` with `added`; free: enrolled, in no live circle, and never having
  declined a circle of the cohort or let an invitation expire); with nobody fitting, it goes on smaller
  when it still keeps the rules (`added` null), else it is dissolved (`circle.dissolved`).
- A formed circle is never refilled. A member who withdraws, leaves the company or is erased ends
  their membership: with fewer than `circle_min_size` left (or nobody left who may facilitate) the
  circle is dissolved; otherwise `circle.refilled` with `added` null tells the others it goes on
  smaller (with a new facilitator when theirs left).

Writes that change who is in a live circle take the cohort's circle lock (db/circles.lock_cohort)
after any cohort or participant row lock they hold and before circle rows, so two refills never pick
the same person; the database's unique index keeps a person in one live circle whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from bridge_matching.app.access import (
    can_see,
    ensure_can_write,
    ensure_cohort_visible,
    ensure_manages,
    ensure_phase,
    is_hr,
    is_self,
    managed_cohort,
    regions_filter,
    sees_any,
    visible_cohort,
)
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import audit, cohorts, participants, privacy
from bridge_matching.db import circles as circles_db
from bridge_matching.db.records import Conn
from bridge_matching.domain import circle_rules
from bridge_matching.domain.circle_rules import Assessment, generation_of
from bridge_matching.domain.circles import CirclePolicy, CircleResult, PinnedCircle, form_circles
from bridge_matching.domain.engine import Participant
from bridge_matching.domain.events import (
    circle_dissolved,
    circle_formed,
    circle_member,
    circle_member_responded,
    circle_proposed,
    circle_refilled,
    circle_subject,
)
from bridge_matching.domain.matching import to_engine
from bridge_matching.domain.phases import MATCHING_PHASES
from bridge_matching.domain.policy import to_circle_policy
from bridge_matching.domain.rows import (
    CircleMemberRow,
    CircleRow,
    CircleRunRow,
    CircleStatus,
    CohortRow,
    LeftOutData,
    MemberOrigin,
    MemberStatus,
    NewCircle,
    ParticipantRow,
    SlotData,
)
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.contracts.circles import CircleMember, Generation
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import TYPE_BASE, Problem
from bridge_shared.events.registry import EventPayload
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import run_once

log = logging.getLogger(__name__)

EXPIRY_JOB = "matching.expire-circle-invitations"
REMOVED = "removed"
REMOVED_REASON = (
    "HR took them out of this draft; a re-solve leaves them out until HR moves them into a circle."
)
SYSTEM_ACTOR = "circles"  # the audit's actor for what the workflow does by itself (refills, dissolving)
DEFAULT_TTL_HOURS = 168  # a circle published before invite_ttl_hours existed (none yet: a safe default)
Cause = Literal["declined", "expired", "withdrawn", "left_company", "erased"]
_LEAVING: dict[Cause, str] = {
    "declined": "a member declined",
    "expired": "a member did not answer in time",
    "withdrawn": "a member withdrew from the cohort",
    "left_company": "a member left the company",
    "erased": "a member's data was erased on request",
}


# -- views --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberView:
    row: CircleMemberRow
    participant: ParticipantRow
    generation: Generation


@dataclass(frozen=True, slots=True)
class CircleView:
    circle: CircleRow
    members: list[MemberView]
    show_reasons: frozenset[uuid.UUID] = frozenset()  # whose decline reason the reader may see


@dataclass(frozen=True, slots=True)
class LeftOutView:
    data: LeftOutData
    participant: ParticipantRow | None


@dataclass(frozen=True, slots=True)
class RunView:
    run: CircleRunRow
    circles: list[CircleView]
    left_out: list[LeftOutView]


@dataclass(frozen=True, slots=True)
class Published:
    run_id: uuid.UUID
    circles: int
    expires_at: datetime


def policy_of(cohort: CohortRow) -> CirclePolicy:
    return to_circle_policy(
        cohort.policy,
        programme_start=cohort.programme_start,
        programme_end=cohort.programme_end,
        matching_date=cohort.matching_date,
    )


async def _circle_views(
    conn: Conn, cohort: CohortRow, circles: Sequence[CircleRow], *, principal: Principal | None = None
) -> list[CircleView]:
    policy = policy_of(cohort)
    member_rows = await circles_db.members(conn, [c.id for c in circles])
    people = await participants.by_ids(conn, [m.participant_id for ms in member_rows.values() for m in ms])
    out = []
    for c in circles:
        members = [
            MemberView(
                m, people[m.participant_id], generation_of(people[m.participant_id].seniority_level, policy)
            )
            for m in member_rows[c.id]
        ]
        if principal is None or is_hr(principal):
            reasons = frozenset(m.row.participant_id for m in members)
        else:
            reasons = frozenset(m.row.participant_id for m in members if is_self(principal, m.participant))
        out.append(CircleView(c, members, reasons))
    return out


async def _run_view(
    conn: Conn, run: CircleRunRow, cohort: CohortRow, principal: Principal | None = None
) -> RunView:
    """The run as `principal` may read it (rule 3: circles with a member in scope, left-out people in
    scope); in full for callers who manage the whole cohort (None)."""
    regions = None if principal is None else regions_filter(principal)
    views = await _circle_views(conn, cohort, await circles_db.of_run(conn, run.id))
    people = await participants.by_ids(conn, [uuid.UUID(x["participant_id"]) for x in run.left_out])
    left = [LeftOutView(x, people.get(uuid.UUID(x["participant_id"]))) for x in run.left_out]
    if regions is not None:
        views = [v for v in views if any(m.participant.region in regions for m in v.members)]
        left = [x for x in left if x.participant is not None and x.participant.region in regions]
    return RunView(run, views, left)


# -- what the rules need ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Cohort:
    """The cohort's enrolled people as the rules and the engine read them."""

    cohort: CohortRow
    policy: CirclePolicy
    by_id: dict[uuid.UUID, ParticipantRow]
    engine: dict[uuid.UUID, Participant]
    eligible: set[str]
    manager_of: dict[str, str | None]
    live: set[uuid.UUID]
    scope: circle_rules.Scope
    by_emp: dict[str, uuid.UUID] = field(default_factory=dict)

    def people(self, ids: Iterable[uuid.UUID]) -> list[Participant]:
        return [self.engine[i] for i in ids]

    def pid(self, employee_id: str | None) -> uuid.UUID | None:
        return None if employee_id is None else self.by_emp[employee_id]

    def emp(self, participant_id: uuid.UUID | None) -> str | None:
        return (
            None
            if participant_id is None or participant_id not in self.by_id
            else self.by_id[participant_id].employee_id
        )

    def free(self) -> list[ParticipantRow]:
        return [r for r in self.by_id.values() if r.id not in self.live]


async def _load(conn: Conn, cohort: CohortRow) -> _Cohort:
    enrolled = await participants.enrolled(conn, cohort.id)
    return _Cohort(
        cohort=cohort,
        policy=policy_of(cohort),
        by_id={r.id: r for r in enrolled},
        engine={r.id: to_engine(r) for r in enrolled},
        eligible={r.employee_id for r in enrolled if r.facilitator_eligible},
        manager_of={r.employee_id: r.manager_employee_id for r in enrolled},
        live=await circles_db.live_member_ids(conn, cohort.id),
        scope=circle_rules.Scope.of(to_engine(r) for r in enrolled),
        by_emp={r.employee_id: r.id for r in enrolled},
    )


def _slot(slot: tuple[int, int, int] | None) -> SlotData | None:
    if slot is None:
        return None
    return {"weekday": slot[0], "start_minute": slot[1], "duration_minutes": slot[2]}


def _fallback_language(people: Sequence[Participant]) -> str | None:
    """The language most members speak (ties: the first by code), for a circle HR forced without one."""
    counts: dict[str, int] = {}
    for p in people:
        for lang in p.languages:
            counts[lang] = counts.get(lang, 0) + 1
    return min(counts, key=lambda k: (-counts[k], k)) if counts else None


def _assess(
    ctx: _Cohort,
    member_ids: Sequence[uuid.UUID],
    *,
    facilitator_id: uuid.UUID | None,
    facilitator_by_hr: bool,
    language: str | None,
) -> Assessment:
    named = ctx.emp(facilitator_id) if facilitator_id in member_ids else None
    return circle_rules.assess(
        ctx.people(member_ids),
        ctx.policy,
        eligible=ctx.eligible,
        manager_of=ctx.manager_of,
        scope=ctx.scope,
        facilitator=named,
        named_by_hr=facilitator_by_hr and named is not None,
        language=language,
    )


@dataclass(frozen=True, slots=True)
class _Change:
    """One draft circle's edit: as it was, as it would be, and what the rules say of it."""

    before: CircleRow
    new: NewCircle
    assessment: Assessment


def _edited(
    ctx: _Cohort,
    member_ids: list[uuid.UUID],
    before: CircleRow,
    origins: dict[uuid.UUID, MemberOrigin],
    *,
    facilitator_id: uuid.UUID | None = None,
    by_hr: bool | None = None,
    pinned: bool | None = None,
) -> _Change:
    """A draft circle after an edit: re-checked, re-scored, its summary rewritten (naming no one)."""
    facilitator = facilitator_id if facilitator_id is not None else before.facilitator_id
    hr = before.facilitator_by_hr if by_hr is None else by_hr
    a = _assess(ctx, member_ids, facilitator_id=facilitator, facilitator_by_hr=hr, language=before.language)
    chosen = ctx.pid(a.facilitator_id)
    new = NewCircle(
        member_ids=member_ids,
        facilitator_id=chosen,
        language=a.language or _fallback_language(ctx.people(member_ids)),
        weekly_slot=_slot(a.slot),
        score=a.score.total,
        breakdown=circle_rules.breakdown_of(a.score),
        explanation=a.summary,
        violations=a.codes,
        pinned=before.pinned if pinned is None else pinned,
        origin="edited",
        facilitator_by_hr=hr and chosen == facilitator,
        member_origins={m: origins.get(m, "hr") for m in member_ids},
    )
    return _Change(before, new, a)


# -- access -------------------------------------------------------------------------------------------


def _require_circles(cohort: CohortRow) -> None:
    if "circles" not in cohort.formats:
        raise Problem(
            409,
            "Circles not offered",
            f"This cohort runs {' and '.join(cohort.formats)}; circles need a cohort whose formats "
            "include circles.",
            formats=list(cohort.formats),
        )


def _require_matching_phase(cohort: CohortRow) -> None:
    ensure_phase(
        cohort,
        MATCHING_PHASES,
        "Matching not open",
        "Cohort is in phase {phase}; circle runs need matching or active.",
    )


async def _draft_run(conn: Conn, principal: Principal, run_id: uuid.UUID) -> tuple[CohortRow, CircleRunRow]:
    """(cohort, run) for a review edit: the run locked, a draft, and the caller managing the cohort."""
    run = await circles_db.get_run(conn, run_id, lock=True)
    if run is None:
        raise Problem(404, "Circle run not found")
    cohort = ensure_cohort_visible(principal, await cohorts.get(conn, run.cohort_id))
    ensure_manages(principal, cohort)  # reviewing and publishing are cohort-wide changes (rule 4)
    if run.status != "draft":
        raise Problem(
            409,
            "Run is not a draft",
            f"This run is {run.status}; start a new run to change it.",
            run_status=run.status,
        )
    return cohort, run


# -- runs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Snapshot:
    ctx: _Cohort
    people: list[Participant]
    pinned: list[PinnedCircle]
    removed: list[uuid.UUID]
    version: int = 0


def _snapshot(
    ctx: _Cohort, pinned: list[PinnedCircle], removed: Sequence[uuid.UUID], version: int = 0
) -> _Snapshot:
    out = set(removed)
    people = [ctx.engine[r.id] for r in ctx.free() if r.id not in out]
    return _Snapshot(ctx, people, pinned, list(removed), version)


async def _solve(snap: _Snapshot) -> tuple[CircleResult, float]:
    ctx = snap.ctx
    started = time.perf_counter()
    result = await asyncio.to_thread(
        form_circles,
        snap.people,
        ctx.policy,
        facilitator_eligible=frozenset(ctx.eligible),
        manager_of=dict(ctx.manager_of),
        pinned=tuple(snap.pinned),
    )
    return result, time.perf_counter() - started


def _drafts(
    snap: _Snapshot, result: CircleResult, seconds: float
) -> tuple[list[NewCircle], list[LeftOutData], dict[str, Any]]:
    """The engine's result as draft rows: circles (pinned ones marked), everyone left out with the
    reason, and the run's statistics."""
    ctx = snap.ctx
    pins = [(set(p.member_ids), p.facilitator_id) for p in snap.pinned]
    drafts = []
    for c in result.circles:
        members = set(c.member_ids)
        pin = next(((ids, f) for ids, f in pins if ids and ids <= members), None)
        facilitator = ctx.pid(c.facilitator_id)
        drafts.append(
            NewCircle(
                member_ids=[ctx.by_emp[e] for e in c.member_ids],
                facilitator_id=facilitator,
                language=c.language,
                weekly_slot=_slot(c.weekly_slot),
                score=c.score.total,
                breakdown=circle_rules.breakdown_of(c.score),
                explanation=c.explanation,
                violations=list(c.hard_violations),
                pinned=pin is not None,
                facilitator_by_hr=pin is not None and pin[1] is not None and pin[1] == c.facilitator_id,
            )
        )
    left: list[LeftOutData] = [
        {
            "participant_id": str(ctx.by_emp[x.participant_id]),
            "employee_id": x.participant_id,
            "reason_code": x.reason_code,
            "reason": x.reason,
        }
        for x in result.left_out
        if x.participant_id in ctx.by_emp
    ]
    left += [
        {
            "participant_id": str(r),
            "employee_id": ctx.by_id[r].employee_id,
            "reason_code": REMOVED,
            "reason": REMOVED_REASON,
        }
        for r in snap.removed
        if r in ctx.by_id and r not in ctx.live
    ]
    stats: dict[str, Any] = {  # Any: the statistics document
        "participants": len(snap.people),
        "circles": len(drafts),
        "placed": sum(len(d.member_ids) for d in drafts),
        "left_out": len(left),
        "solve_seconds": round(seconds, 3),
        **{k: float(v) for k, v in result.stats.items()},
    }
    return drafts, left, stats


async def start(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID) -> RunView:
    """Solves everyone free into a new draft of circles (the open draft, if any, is superseded)."""
    async with connection(rt.pool) as conn:
        cohort = await managed_cohort(conn, principal, cohort_id)
        _require_circles(cohort)
        _require_matching_phase(cohort)
        snap = _snapshot(await _load(conn, cohort), [], [])
    if len(snap.people) < snap.ctx.policy.min_size:
        raise Problem(
            409,
            "Not enough participants",
            f"A circle run needs at least {snap.ctx.policy.min_size} free enrolled participants "
            f"(the policy's circle_min_size); {len(snap.people)} are free.",
        )
    result, seconds = await _solve(snap)
    drafts, left, stats = _drafts(snap, result, seconds)
    async with transaction(rt.pool) as conn:
        # Lock order as for matching runs: run rows first, then the cohort.
        await circles_db.lock_drafts(conn, cohort_id)
        locked = await cohorts.get(conn, cohort_id, lock=True)
        if locked is None:
            raise LookupError(f"cohort {cohort_id} vanished")
        _require_matching_phase(locked)
        await _refuse_if_erased(conn, snap)
        now = rt.clock.now()
        await circles_db.supersede_drafts(conn, cohort_id, now)
        run = await circles_db.insert_run(conn, cohort_id, principal.subject, stats, left, now)
        await circles_db.insert_circles(conn, cohort_id, run.id, drafts, now)
        details = {"run_id": str(run.id), "circles": len(drafts), "left_out": len(left)}
        await audit.add(conn, cohort_id, principal.subject, "circle_run.start", None, details, now)
        return await _run_view(conn, run, locked)


async def _refuse_if_erased(conn: Conn, snap: _Snapshot) -> None:
    if await privacy.any_erased(conn, list(snap.ctx.by_id)):
        raise Problem(
            409,
            "Draft is stale",
            "A participant was erased on request while the circles were solved; start a new run.",
        )


async def list_runs(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID) -> list[RunView]:
    async with connection(rt.pool) as conn:
        cohort = await visible_cohort(conn, principal, cohort_id)
        return [
            await _run_view(conn, r, cohort, principal) for r in await circles_db.list_runs(conn, cohort_id)
        ]


async def get_run(rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID) -> RunView:
    async with connection(rt.pool) as conn:
        run = await circles_db.get_run(conn, run_id)
        if run is None:
            raise Problem(404, "Circle run not found")
        cohort = ensure_cohort_visible(principal, await cohorts.get(conn, run.cohort_id))
        return await _run_view(conn, run, cohort, principal)


# -- review -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    """The draft under one edit: its circles, their members, and where each person is."""

    cohort: CohortRow
    run: CircleRunRow
    ctx: _Cohort
    circles: dict[uuid.UUID, CircleRow]
    members: dict[uuid.UUID, list[CircleMemberRow]]

    def circle_of(self, participant_id: uuid.UUID) -> CircleRow | None:
        for cid, ms in self.members.items():
            if any(m.participant_id == participant_id for m in ms):
                return self.circles[cid]
        return None

    def ids(self, circle_id: uuid.UUID) -> list[uuid.UUID]:
        return [m.participant_id for m in self.members[circle_id]]

    def origins(self, circle_id: uuid.UUID) -> dict[uuid.UUID, MemberOrigin]:
        return {m.participant_id: m.origin for m in self.members[circle_id]}

    def circle(self, circle_id: uuid.UUID) -> CircleRow:
        c = self.circles.get(circle_id)
        if c is None:
            raise Problem(404, "Draft circle not found", "This draft has no circle with that id.")
        return c


async def _open_draft(conn: Conn, principal: Principal, run_id: uuid.UUID) -> _Draft:
    cohort, run = await _draft_run(conn, principal, run_id)
    circles = {c.id: c for c in await circles_db.of_run(conn, run_id, lock=True)}
    return _Draft(
        cohort, run, await _load(conn, cohort), circles, await circles_db.members(conn, list(circles))
    )


def _enrolled_and_free(d: _Draft, participant_id: uuid.UUID) -> ParticipantRow:
    row = d.ctx.by_id.get(participant_id)
    if row is None:
        raise Problem(404, "Participant not found", "No enrolled participant of this cohort has that id.")
    if participant_id in d.ctx.live:
        raise Problem(409, "Participant not free", "This participant is already in a published circle.")
    return row


def _check(changes: Sequence[_Change], *, force: bool) -> dict[str, list[str]]:
    """The hard rules each changed circle would break that it did not break before (by circle id);
    409 naming them, with the checker's words, unless HR forces the edit."""
    broken = {str(c.before.id): sorted(set(c.new.violations) - set(c.before.violations)) for c in changes}
    broken = {k: v for k, v in broken.items() if v}
    if broken and not force:
        rules = sorted({r for v in broken.values() for r in v})
        words = {
            str(c.before.id): [
                v.detail for v in c.assessment.violations if v.code in broken[str(c.before.id)]
            ]
            for c in changes
            if str(c.before.id) in broken
        }
        raise Problem(
            409,
            "Edit breaks hard constraints",
            "This edit would break the cohort's hard rules for circles ("
            + "; ".join(circle_rules.RULES[r] for r in rules)
            + "). Choose another edit, or send force=true to make it anyway (the circle then shows "
            "its violations).",
            violations=broken,
            violation_details=words,
        )
    return broken


async def _finish_edit(
    conn: Conn,
    rt: MatchingRuntime,
    principal: Principal,
    d: _Draft,
    action: str,
    changes: Sequence[_Change],
    details: dict[str, Any],  # Any: the audit document
    *,
    removed: list[uuid.UUID] | None = None,
    placed: Sequence[uuid.UUID] = (),
    empty: Sequence[uuid.UUID] = (),
    left_out_add: Sequence[LeftOutData] = (),
) -> RunView:
    now = rt.clock.now()
    for c in changes:
        if c.before.id not in empty:
            await circles_db.replace_draft(conn, c.before.id, c.new, now)
    if empty:
        await circles_db.delete_drafts(conn, list(empty))
    gone = {str(p) for p in placed} | {x["participant_id"] for x in left_out_add}
    left_out = [x for x in d.run.left_out if x["participant_id"] not in gone] + list(left_out_add)
    run = await circles_db.update_run(conn, d.run.id, now, left_out=left_out, removed=removed)
    await audit.add(
        conn, d.cohort.id, principal.subject, action, None, {"run_id": str(d.run.id), **details}, now
    )
    return await _run_view(conn, run, d.cohort)


async def move(
    rt: MatchingRuntime,
    principal: Principal,
    run_id: uuid.UUID,
    participant_id: uuid.UUID,
    to_circle_id: uuid.UUID,
    *,
    force: bool = False,
) -> RunView:
    """Moves a member into another draft circle (or places someone left out, or removed, into one)."""
    async with transaction(rt.pool) as conn:
        d = await _open_draft(conn, principal, run_id)
        target = d.circle(to_circle_id)
        _enrolled_and_free(d, participant_id)
        source = d.circle_of(participant_id)
        if source is not None and source.id == target.id:
            raise Problem(
                409, "Already in that circle", "This participant is already a member of that circle."
            )
        changes = [_edited(d.ctx, [*d.ids(target.id), participant_id], target, d.origins(target.id))]
        empty = []
        if source is not None:
            rest = [m for m in d.ids(source.id) if m != participant_id]
            if rest:
                changes.append(_edited(d.ctx, rest, source, d.origins(source.id)))
            else:
                empty.append(source.id)
        broken = _check(changes, force=force)
        removed = [r for r in d.run.removed if r != participant_id]
        details = {
            "participant_id": str(participant_id),
            "from_circle_id": None if source is None else str(source.id),
            "to_circle_id": str(target.id),
            "forced": bool(broken),
            "violations": broken,
        }
        return await _finish_edit(
            conn, rt, principal, d, "circle_draft.move", changes, details,
            removed=removed, placed=[participant_id], empty=empty,
        )  # fmt: skip


async def swap(
    rt: MatchingRuntime,
    principal: Principal,
    run_id: uuid.UUID,
    participant_a: uuid.UUID,
    participant_b: uuid.UUID,
    *,
    force: bool = False,
) -> RunView:
    """Swaps two members of different draft circles."""
    if participant_a == participant_b:
        raise Problem(422, "Invalid request", "participant_a and participant_b must differ.")
    async with transaction(rt.pool) as conn:
        d = await _open_draft(conn, principal, run_id)
        a, b = d.circle_of(participant_a), d.circle_of(participant_b)
        if a is None or b is None:
            raise Problem(404, "Participant not found", "Both must be members of circles of this draft.")
        if a.id == b.id:
            raise Problem(409, "Already in that circle", "The two are members of the same circle.")
        for p in (participant_a, participant_b):
            _enrolled_and_free(d, p)
        into_a = [participant_b if m == participant_a else m for m in d.ids(a.id)]
        into_b = [participant_a if m == participant_b else m for m in d.ids(b.id)]
        changes = [
            _edited(d.ctx, into_a, a, {**d.origins(a.id), participant_b: "hr"}),
            _edited(d.ctx, into_b, b, {**d.origins(b.id), participant_a: "hr"}),
        ]
        broken = _check(changes, force=force)
        details = {
            "participant_a": str(participant_a),
            "participant_b": str(participant_b),
            "circle_a": str(a.id),
            "circle_b": str(b.id),
            "forced": bool(broken),
            "violations": broken,
        }
        return await _finish_edit(conn, rt, principal, d, "circle_draft.swap", changes, details)


async def remove_member(
    rt: MatchingRuntime,
    principal: Principal,
    run_id: uuid.UUID,
    circle_id: uuid.UUID,
    participant_id: uuid.UUID,
    *,
    force: bool = False,
) -> RunView:
    """Takes a member out of a draft circle: they are left out of this draft and of its re-solves until
    HR moves them into a circle."""
    async with transaction(rt.pool) as conn:
        d = await _open_draft(conn, principal, run_id)
        circle = d.circle(circle_id)
        if participant_id not in d.ids(circle.id):
            raise Problem(404, "Participant not found", "This circle has no member with that id.")
        rest = [m for m in d.ids(circle.id) if m != participant_id]
        changes = []
        empty = []
        if rest:
            changes.append(_edited(d.ctx, rest, circle, d.origins(circle.id)))
        else:
            empty.append(circle.id)
        broken = _check(changes, force=force)
        row = d.ctx.by_id.get(participant_id)
        left: LeftOutData = {
            "participant_id": str(participant_id),
            "employee_id": row.employee_id if row else "",
            "reason_code": REMOVED,
            "reason": REMOVED_REASON,
        }
        details = {
            "participant_id": str(participant_id),
            "circle_id": str(circle.id),
            "forced": bool(broken),
            "violations": broken,
        }
        return await _finish_edit(
            conn, rt, principal, d, "circle_draft.remove", changes, details,
            removed=sorted({*d.run.removed, participant_id}), empty=empty, left_out_add=[left],
        )  # fmt: skip


async def set_pin(
    rt: MatchingRuntime,
    principal: Principal,
    run_id: uuid.UUID,
    circle_id: uuid.UUID,
    *,
    pinned: bool,
    facilitator_id: uuid.UUID | None = None,
) -> RunView:
    """Pins a draft circle (a re-solve keeps its members together, and may add to it) and optionally
    names its facilitator, who must be a member and need not be facilitator-eligible; or unpins it."""
    async with transaction(rt.pool) as conn:
        d = await _open_draft(conn, principal, run_id)
        circle = d.circle(circle_id)
        ids = d.ids(circle.id)
        if facilitator_id is not None and facilitator_id not in ids:
            raise Problem(
                422,
                "Invalid request",
                "The facilitator must be a member of the circle.",
                type_=f"{TYPE_BASE}invalid-request",
                errors=[
                    {
                        "field": "facilitator_id",
                        "message": "not a member of this circle",
                        "type": "value_error",
                    }
                ],
            )
        change = _edited(
            d.ctx,
            ids,
            circle,
            d.origins(circle.id),
            facilitator_id=facilitator_id,
            by_hr=True if facilitator_id is not None else None,
            pinned=pinned,
        )
        if circle.origin == "engine" and facilitator_id is None:  # a pin alone keeps the engine's words
            kept = replace(
                change.new,
                explanation=circle.explanation,
                origin="engine",
                score=circle.score,
                breakdown=dict(circle.breakdown),
            )
            change = _Change(circle, kept, change.assessment)
        details = {
            "circle_id": str(circle.id),
            "facilitator_id": None if facilitator_id is None else str(facilitator_id),
        }
        action = "circle_draft.pin" if pinned else "circle_draft.unpin"
        return await _finish_edit(conn, rt, principal, d, action, [change], details)


async def resolve(rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID) -> RunView:
    """Re-solves the draft: pinned circles keep their members (the engine may add to them) and HR's
    facilitator, removed people stay out, everyone else free is formed into circles again."""
    async with connection(rt.pool) as conn:
        run = await circles_db.get_run(conn, run_id)
        if run is None:
            raise Problem(404, "Circle run not found")
        cohort = ensure_manages(
            principal, ensure_cohort_visible(principal, await cohorts.get(conn, run.cohort_id))
        )
        if run.status != "draft":
            raise Problem(409, "Run is not a draft", f"This run is {run.status}.", run_status=run.status)
        _require_matching_phase(cohort)
        ctx = await _load(conn, cohort)
        drafts = await circles_db.of_run(conn, run_id)
        members = await circles_db.members(conn, [c.id for c in drafts])
        pins = []
        for c in drafts:
            if not c.pinned:
                continue
            kept = tuple(
                ctx.by_id[m.participant_id].employee_id
                for m in members[c.id]
                if m.participant_id in ctx.by_id and m.participant_id not in ctx.live
            )
            named = ctx.emp(c.facilitator_id) if c.facilitator_by_hr else None
            pins.append(PinnedCircle(member_ids=kept, facilitator_id=named if named in kept else None))
        snap = _snapshot(ctx, [p for p in pins if p.member_ids], run.removed, run.version)
    result, seconds = await _solve(snap)
    new, left, stats = _drafts(snap, result, seconds)
    async with transaction(rt.pool) as conn:
        locked = await circles_db.get_run(conn, run_id, lock=True)
        if locked is None or locked.status != "draft" or locked.version != snap.version:
            raise Problem(
                409,
                "Draft changed meanwhile",
                "The draft was edited, published or superseded while it was re-solved; look at it again.",
            )
        await _refuse_if_erased(conn, snap)
        now = rt.clock.now()
        await circles_db.delete_drafts(conn, [c.id for c in await circles_db.of_run(conn, run_id)])
        await circles_db.insert_circles(conn, cohort.id, run_id, new, now)
        updated = await circles_db.update_run(conn, run_id, now, left_out=left, stats=stats)
        details = {"run_id": str(run_id), "circles": len(new), "pinned": len(snap.pinned)}
        await audit.add(conn, cohort.id, principal.subject, "circle_draft.resolve", None, details, now)
        return await _run_view(conn, updated, cohort)


# -- publishing -----------------------------------------------------------------------------------------


async def _members_of(conn: Conn, policy: CirclePolicy, ids: Sequence[uuid.UUID]) -> list[CircleMember]:
    people = await participants.by_ids(conn, ids)
    return [circle_member(people[i], generation_of(people[i].seniority_level, policy)) for i in ids]


async def publish(rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID) -> Published:
    """Every draft circle becomes proposed: each member is asked to accept or decline
    (`circle.proposed`, written to the outbox in this transaction)."""
    async with transaction(rt.pool) as conn:
        cohort, _ = await _draft_run(conn, principal, run_id)
        cohort = await cohorts.get(conn, cohort.id, lock=True) or cohort
        _require_circles(cohort)
        _require_matching_phase(cohort)
        await circles_db.lock_cohort(conn, cohort.id)
        ctx = await _load(conn, cohort)
        drafts = await circles_db.of_run(conn, run_id, lock=True)
        members = await circles_db.members(conn, [c.id for c in drafts])
        conflicts = [
            {"circle_id": str(c.id), "participant_id": str(m.participant_id), "reason": reason}
            for c in drafts
            for m in members[c.id]
            if (
                reason := "withdrawn"
                if m.participant_id not in ctx.by_id
                else "in a published circle"
                if m.participant_id in ctx.live
                else ""
            )
        ]
        if conflicts:
            raise Problem(
                409,
                "Draft is stale",
                "People of this draft withdrew or joined a published circle since it was solved; "
                "re-solve it, then publish.",
                conflicts=conflicts,
            )
        missing = [str(c.id) for c in drafts if c.facilitator_id is None]
        if missing:
            raise Problem(
                409,
                "Circle without facilitator",
                "These circles have nobody who may facilitate them; pin each with a facilitator first.",
                circle_ids=missing,
            )
        if not drafts:
            raise Problem(409, "Nothing to publish", "This draft has no circles.")
        now = rt.clock.now()
        ttl = rt.settings.proposal_ttl_hours
        expires_at = now + timedelta(hours=ttl)
        proposed = await circles_db.publish_drafts(conn, run_id, ttl, expires_at, now)
        events: list[tuple[EventPayload, str | None]] = []
        for c in proposed:
            ids = [m.participant_id for m in members[c.id]]
            if c.language is None:
                language = _fallback_language(ctx.people(ids))
                c = await circles_db.update_live(
                    conn,
                    c.id,
                    now,
                    facilitator_id=c.facilitator_id,
                    language=language,
                    weekly_slot=c.weekly_slot,
                    score=c.score,
                    breakdown=c.breakdown,
                    explanation=c.explanation,
                    expires_at=None,
                )
            events.append((circle_proposed(c, await _members_of(conn, ctx.policy, ids)), circle_subject(c)))
        await rt.outbox.add_many(conn, events, time=now)
        await circles_db.mark_published(conn, run_id, principal.subject, now)
        forced = {str(c.id): c.violations for c in proposed if c.violations}
        details = {"run_id": str(run_id), "circles": len(proposed), "forced_violations": forced}
        await audit.add(conn, cohort.id, principal.subject, "circle_run.publish", None, details, now)
    return Published(run_id, len(proposed), expires_at)


# -- reading published circles --------------------------------------------------------------------------


async def list_circles(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, status: CircleStatus | None
) -> list[CircleView]:
    """HR: the cohort's circles with a member in their regions; a participant: their own."""
    async with connection(rt.pool) as conn:
        cohort = await cohorts.get(conn, cohort_id)
        if cohort is not None and can_see(principal, cohort):
            rows = await circles_db.list_for_cohort(
                conn, cohort_id, status, regions=regions_filter(principal)
            )
            return await _circle_views(conn, cohort, rows, principal=principal)
        me = None
        if cohort is not None and Role.PARTICIPANT in principal.roles:
            me = await participants.by_employee(conn, cohort_id, principal.subject)
        if cohort is None or me is None:
            raise Problem(404, "Cohort not found")
        rows = await circles_db.list_for_cohort(conn, cohort_id, status, member=me.id)
        return await _circle_views(conn, cohort, rows, principal=principal)


async def _visible(
    conn: Conn, principal: Principal, circle_id: uuid.UUID
) -> tuple[CohortRow, CircleView, MemberView | None]:
    """(cohort, circle, the caller's membership) when the caller is a member (any answer) or HR who
    sees one of its members; drafts are read through their run."""
    circle = await circles_db.get(conn, circle_id)
    cohort = None if circle is None else await cohorts.get(conn, circle.cohort_id)
    if circle is None or cohort is None or circle.status == "draft":
        raise Problem(404, "Circle not found")
    [view] = await _circle_views(conn, cohort, [circle], principal=principal)
    mine = next((m for m in view.members if is_self(principal, m.participant)), None)
    if mine is not None and Role.PARTICIPANT in principal.roles:
        return cohort, view, mine
    if can_see(principal, cohort) and sees_any(principal, (m.participant for m in view.members)):
        return cohort, view, None
    raise Problem(404, "Circle not found")


async def get_circle(rt: MatchingRuntime, principal: Principal, circle_id: uuid.UUID) -> CircleView:
    async with connection(rt.pool) as conn:
        _, view, _ = await _visible(conn, principal, circle_id)
        return view


# -- answers, refills, forming ----------------------------------------------------------------------------


async def answer(
    rt: MatchingRuntime, principal: Principal, circle_id: uuid.UUID, *, accept: bool, reason: str | None
) -> CircleView:
    """Accept or decline as the member you are. A decline frees the place (refilled, or the circle goes
    on smaller, or is dissolved); when every member has accepted, the circle is formed."""
    if Role.PARTICIPANT not in principal.roles:  # role before record (rule 9)
        raise Problem(
            403, "Forbidden", "Only the circle's members can answer its invitation, each for themself."
        )
    async with transaction(rt.pool) as conn:
        cohort, view, mine = await _visible(conn, principal, circle_id)
        if mine is None:
            raise Problem(
                403, "Forbidden", "Only the circle's members can answer its invitation, each for themself."
            )
        await circles_db.lock_cohort(conn, cohort.id)
        circle = await circles_db.get(conn, circle_id, lock=True)
        if circle is None:
            raise LookupError(f"circle {circle_id} vanished")
        member = next(
            m
            for m in (await circles_db.members(conn, [circle_id]))[circle_id]
            if m.participant_id == mine.row.participant_id
        )
        now = rt.clock.now()
        if circle.status != "proposed":
            raise Problem(
                409,
                "Circle not open",
                f"This circle is already {circle.status}.",
                circle_status=circle.status,
            )
        if member.status in ("accepted", "declined"):
            raise Problem(409, "Already answered", f"You already {member.status} this invitation.")
        if member.status != "invited":
            raise Problem(
                409,
                "Circle not open",
                "You are no longer invited to this circle.",
                member_status=member.status,
            )
        if circle.expires_at is not None and circle.expires_at <= now:
            raise Problem(409, "Invitation expired", "This invitation expired before it was answered.")
        status: MemberStatus = "accepted" if accept else "declined"
        await circles_db.set_member(
            conn, circle_id, member.participant_id, status, now, reason=None if accept else reason
        )
        await rt.outbox.add(
            conn,
            circle_member_responded(circle, member.participant_id, accepted=accept, reason=reason, now=now),
            subject=circle_subject(circle),
            time=now,
        )
        if not accept:
            circle = await free_place_in(
                conn, rt.outbox, cohort, circle, member.participant_id, "declined", now
            )
        await _form_if_complete(conn, rt.outbox, cohort, circle, now)
        _, view, _ = await _visible(conn, principal, circle_id)
        return view


async def _form_if_complete(
    conn: Conn, outbox: Outbox, cohort: CohortRow, circle: CircleRow, now: datetime
) -> CircleRow:
    """A proposed circle whose live members have all accepted is formed (`circle.formed`)."""
    if circle.status != "proposed":
        return circle
    live = [m for m in (await circles_db.members(conn, [circle.id]))[circle.id] if m.live]
    if not live or any(m.status != "accepted" for m in live):
        return circle
    formed = await circles_db.mark_formed(conn, circle.id, now)
    ids = [m.participant_id for m in live]
    members = await _members_of(conn, policy_of(cohort), ids)
    await outbox.add(
        conn, circle_formed(formed, cohort, members, now), subject=circle_subject(formed), time=now
    )
    return formed


def _dissolved_ids(live: Sequence[uuid.UUID], leaving: uuid.UUID | None) -> list[uuid.UUID]:
    """The members a dissolution names: those still in it, and the one whose leaving ended it while
    fewer than two remain (the event names at least two)."""
    ids = list(live)
    if len(ids) < 2 and leaving is not None and leaving not in ids:
        ids.append(leaving)
    return ids


async def _dissolve_in(
    conn: Conn,
    outbox: Outbox,
    circle: CircleRow,
    live: Sequence[uuid.UUID],
    reason: str,
    by: str,
    now: datetime,
    *,
    leaving: uuid.UUID | None = None,
) -> CircleRow:
    row = await circles_db.dissolve(conn, circle.id, reason, by, now)
    ids = _dissolved_ids(live, leaving)
    if len(ids) >= 2:  # the contract names two or more; a circle of fewer is not announced again
        await outbox.add(conn, circle_dissolved(row, ids, reason, now), subject=circle_subject(row), time=now)
    await audit.add(conn, circle.cohort_id, by, "circle.dissolve", reason, {"circle_id": str(circle.id)}, now)
    return row


async def free_place_in(
    conn: Conn,
    outbox: Outbox,
    cohort: CohortRow,
    circle: CircleRow,
    leaving: uuid.UUID,
    cause: Cause,
    now: datetime,
) -> CircleRow:
    """In the caller's transaction (the cohort's circle lock and the circle's row held; `leaving`'s
    member row already no longer live): a proposed circle is refilled with the free participant who
    keeps every hard rule and scores best (or goes on smaller, or is dissolved); a formed one goes on
    smaller unless too few are left (or nobody may facilitate), then it is dissolved."""
    ctx = await _load(conn, cohort)
    member_rows = (await circles_db.members(conn, [circle.id]))[circle.id]
    live = [m.participant_id for m in member_rows if m.live and m.participant_id in ctx.by_id]
    facilitator = circle.facilitator_id if circle.facilitator_id in live else None
    by_hr = circle.facilitator_by_hr and facilitator is not None
    why = _LEAVING[cause]
    if circle.status == "proposed":
        been = {m.participant_id for m in member_rows} | await circles_db.said_no(conn, cohort.id)
        candidates = [ctx.engine[r.id] for r in ctx.free() if r.id not in been]
        found = circle_rules.best_refill(
            ctx.people(live),
            candidates,
            ctx.policy,
            eligible=ctx.eligible,
            manager_of=ctx.manager_of,
            scope=ctx.scope,
            facilitator=ctx.emp(facilitator),
            named_by_hr=by_hr,
            language=circle.language,
        )
        if found is not None:
            person, a = found
            newcomer = ctx.by_emp[person.id]
            await circles_db.add_member(conn, circle.id, newcomer, "refill", now)
            # The newcomer gets the answer time the circle was published with.
            ttl = timedelta(hours=circle.invite_ttl_hours or DEFAULT_TTL_HOURS)
            row = await _update(
                conn, ctx, circle, a, now, expires_at=max(circle.expires_at or now, now + ttl)
            )
            newcomer_row = ctx.by_id[newcomer]
            added = circle_member(newcomer_row, generation_of(newcomer_row.seniority_level, ctx.policy))
            event = circle_refilled(
                row, left_participant_id=leaving, added=added, member_ids=[*live, newcomer]
            )
            await outbox.add(conn, event, subject=circle_subject(row), time=now)
            return row
    a = _assess(ctx, live, facilitator_id=facilitator, facilitator_by_hr=by_hr, language=circle.language)
    # A proposed circle goes on smaller only if it keeps every rule; a formed one unless it is below
    # its minimum size or nobody left may facilitate (it is never refilled).
    fatal = set(a.codes) if circle.status == "proposed" else set(a.codes) & {"size", "facilitator"}
    if fatal:
        broken = "; ".join(circle_rules.RULES[c] for c in a.codes if c in fatal)
        reason = f"The circle was dissolved: {why} and nobody free could take the place ({broken})."
        if circle.status == "formed":
            reason = f"The circle was dissolved: {why} and it cannot go on ({broken})."
        return await _dissolve_in(conn, outbox, circle, live, reason, SYSTEM_ACTOR, now, leaving=leaving)
    row = await _update(conn, ctx, circle, a, now, expires_at=None)
    event = circle_refilled(row, left_participant_id=leaving, added=None, member_ids=live)
    await outbox.add(conn, event, subject=circle_subject(row), time=now)
    return row


async def _update(
    conn: Conn, ctx: _Cohort, circle: CircleRow, a: Assessment, now: datetime, *, expires_at: datetime | None
) -> CircleRow:
    return await circles_db.update_live(
        conn,
        circle.id,
        now,
        facilitator_id=ctx.pid(a.facilitator_id),
        language=a.language or circle.language,
        weekly_slot=_slot(a.slot) or circle.weekly_slot,
        score=a.score.total,
        breakdown=circle_rules.breakdown_of(a.score),
        explanation=a.summary,
        expires_at=expires_at,
    )


async def release_in(
    conn: Conn, outbox: Outbox, participant: ParticipantRow, now: datetime, *, cause: Cause
) -> int:
    """A participant withdrew, left the company or was erased (in the caller's transaction, their row
    locked): their place in a proposed circle is freed (and refilled), their membership of a formed
    circle ends. Returns how many circles it touched."""
    if not await circles_db.live_with(conn, participant.id, lock=False):
        return 0
    cohort = await cohorts.get(conn, participant.cohort_id)
    if cohort is None:
        raise LookupError(f"the cohort of participant {participant.id} is missing")
    await circles_db.lock_cohort(conn, cohort.id)
    touched = 0
    for circle in await circles_db.live_with(conn, participant.id):
        await circles_db.set_member(conn, circle.id, participant.id, "left", now)
        row = await free_place_in(conn, outbox, cohort, circle, participant.id, cause, now)
        await _form_if_complete(conn, outbox, cohort, row, now)
        touched += 1
    return touched


async def dissolve(
    rt: MatchingRuntime, principal: Principal, circle_id: uuid.UUID, reason: str
) -> CircleView:
    """HR dissolves a proposed or formed circle (`circle.dissolved`); its members are free again."""
    async with transaction(rt.pool) as conn:
        cohort, view, _ = await _visible(conn, principal, circle_id)
        ensure_can_write(principal)
        await circles_db.lock_cohort(conn, cohort.id)
        circle = await circles_db.get(conn, circle_id, lock=True)
        if circle is None or circle.status not in ("proposed", "formed"):
            status = None if circle is None else circle.status
            raise Problem(409, "Circle not open", f"This circle is already {status}.", circle_status=status)
        live = [m.row.participant_id for m in view.members if m.row.live]
        await _dissolve_in(conn, rt.outbox, circle, live, reason, principal.subject, rt.clock.now())
        _, view, _ = await _visible(conn, principal, circle_id)
        return view


# -- expiry -----------------------------------------------------------------------------------------------


async def expire_due_in(conn: Conn, outbox: Outbox, now: datetime) -> int:
    """The expiry tick (inside its single-instance transaction): every invitation of a proposed circle
    past its answer time expires, and its place is freed as after a decline. Returns how many expired."""
    expired = 0
    for cohort_id in await circles_db.cohorts_with_expired(conn, now):
        cohort = await cohorts.get(conn, cohort_id)
        if cohort is None:
            continue
        await circles_db.lock_cohort(conn, cohort_id)
        for circle in await circles_db.due_for_expiry(conn, cohort_id, now):
            members = (await circles_db.members(conn, [circle.id]))[circle.id]
            row = circle
            for m in members:
                if m.status != "invited" or row.status != "proposed":
                    continue
                await circles_db.set_member(conn, circle.id, m.participant_id, "expired", now)
                row = await free_place_in(conn, outbox, cohort, row, m.participant_id, "expired", now)
                expired += 1
            await _form_if_complete(conn, outbox, cohort, row, now)
    return expired


def expiry_job(outbox: Outbox) -> Callable[[Conn, Clock], Awaitable[int]]:
    """The expiry tick in the shape `bridge_shared.scheduling.singleton` runs (its lock, its transaction)."""

    async def job(conn: Conn, clock: Clock) -> int:
        return await expire_due_in(conn, outbox, clock.now())

    return job


async def expire_due(rt: MatchingRuntime) -> int:
    """One expiry tick on one instance (the others skip it): how many invitations expired."""
    ran, expired = await run_once(rt.pool, EXPIRY_JOB, expiry_job(rt.outbox), rt.clock)
    return (expired or 0) if ran else 0
