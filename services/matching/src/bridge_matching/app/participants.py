"""Participants: HR enrolment, self-service profile, withdrawal, suggestions and partner requests."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from bridge_matching.app import circles as circle_steps
from bridge_matching.app import proposals as proposal_steps
from bridge_matching.app.access import (
    HR_WRITE,
    ensure_can_write,
    ensure_phase,
    is_self,
    participant_in_view,
    regions_filter,
    sees_participant,
    visible_cohort,
)
from bridge_matching.app.pairs import dissolve_in
from bridge_matching.app.privacy import refuse_if_erased
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.app.state import load_state, suggestion_cache
from bridge_matching.db import cohorts, directory, pairs, participants, proposals
from bridge_matching.db.records import Conn
from bridge_matching.domain import matching
from bridge_matching.domain.directory import DirectoryRecord, DirectoryRow, differs, has_left, overlay
from bridge_matching.domain.engine import Suggestion
from bridge_matching.domain.events import participant_event, participant_subject, participant_withdrawn
from bridge_matching.domain.phases import ENROLMENT_PHASES, MATCHING_PHASES, PROFILE_EDIT_PHASES
from bridge_matching.domain.profile import KEY, PROFILE_FIELDS, SELF_EDITABLE, ParticipantIn
from bridge_matching.domain.rows import CohortRow, NewProposal, ParticipantRow, ProposalRow, Side
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import TYPE_BASE, Problem
from bridge_shared.outbox.writer import Outbox


def invalid(errors: list[dict[str, str]]) -> Problem:
    return Problem(
        422,
        "Invalid request",
        f"{len(errors)} field(s) failed validation",
        type_=f"{TYPE_BASE}invalid-request",
        errors=errors,
    )


def _check_region(cohort: CohortRow, region: str) -> None:
    if region not in cohort.regions:
        raise invalid(
            [
                {
                    "field": "region",
                    "message": f"{region!r} is not one of the cohort's regions",
                    "type": "value_error",
                }
            ]
        )


def _require_open_for_matching(cohort: CohortRow, participant: ParticipantRow) -> None:
    ensure_phase(
        cohort,
        MATCHING_PHASES,
        "Matching not open",
        "Cohort is in phase {phase}; this needs matching or active.",
    )
    if participant.status != "enrolled":
        raise Problem(409, "Participant withdrawn", "A withdrawn participant cannot be matched.")


def _ensure_enrols_in_scope(principal: Principal, region: str) -> None:
    """Rule 2: HR enrols (or re-enrols) only people whose home region is theirs."""
    if not scope.sees_region(principal, region):
        raise Problem(
            403,
            "Forbidden",
            f"Your token does not cover region {region!r}; ask HR for that region to enrol this person.",
            missing_regions=[region],
        )


def _from_directory(body: ParticipantIn, entry: DirectoryRow, today: date) -> ParticipantIn:
    """The fields HR owns as the company directory has them (app/directory.py keeps them flowing into
    enrolments after this); a person the directory says has left is not enrolled (409)."""
    record = DirectoryRecord.model_validate(entry.record)
    cause = entry.left_cause or has_left(record, today)
    if cause is not None:
        raise Problem(
            409,
            "Person left",
            "The company directory says this person has left the company; they cannot be enrolled.",
            left_cause=cause,
        )
    profile = body.model_dump()
    if not differs(profile, record):
        return body
    try:
        return ParticipantIn.model_validate(overlay(profile, record))
    except ValidationError as exc:
        raise invalid(_validation_errors(exc)) from exc


@dataclass(frozen=True, slots=True)
class Enrolled:
    cohort: CohortRow
    participant: ParticipantRow
    created: bool


async def enrol(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, body: ParticipantIn
) -> Enrolled:
    """Enrols (or updates, by employee id) one participant; `created` when new."""
    async with transaction(rt.pool) as conn:
        cohort = await visible_cohort(conn, principal, cohort_id, lock=True)
        ensure_can_write(principal)
        known = await directory.by_employee(conn, body.employee_id)
        if known is not None:
            body = _from_directory(body, known, rt.clock.now().date())
        _ensure_enrols_in_scope(principal, body.region)
        existing = await participants.by_employee(conn, cohort_id, body.employee_id)
        if existing is not None and not sees_participant(principal, existing):
            _ensure_enrols_in_scope(principal, existing.region)
        ensure_phase(
            cohort,
            ENROLMENT_PHASES,
            "Enrolment closed",
            "Cohort is in phase {phase}; HR enrolment needs draft or enrolling.",
        )
        _check_region(cohort, body.region)
        await refuse_if_erased(conn, rt.settings, body.employee_id)
        row, inserted = await participants.upsert(conn, cohort_id, body, rt.clock.now())
        if row is None:
            row = await participants.by_employee(conn, cohort_id, body.employee_id)
            if row is None:
                raise LookupError(f"participant {body.employee_id} vanished during its upsert")
        else:
            now = rt.clock.now()
            await rt.outbox.add(
                conn, participant_event(row, inserted=inserted), subject=participant_subject(row), time=now
            )
    return Enrolled(cohort, row, inserted)


async def page(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, limit: int, offset: int
) -> tuple[CohortRow, list[ParticipantRow]]:
    async with connection(rt.pool) as conn:
        cohort = await visible_cohort(conn, principal, cohort_id)
        return cohort, await participants.page(conn, cohort_id, limit, offset, regions_filter(principal))


async def get(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, participant_id: uuid.UUID
) -> tuple[CohortRow, ParticipantRow]:
    async with connection(rt.pool) as conn:
        return await participant_in_view(conn, principal, cohort_id, participant_id)


async def mine(
    rt: MatchingRuntime, principal: Principal, limit: int
) -> list[tuple[CohortRow, ParticipantRow]]:
    """The caller's own enrolments (their token's employee id), each with its cohort, newest first."""
    async with connection(rt.pool) as conn:
        rows = await participants.of_employee(conn, principal.subject, limit)
        found = {cid: await cohorts.get(conn, cid) for cid in {r.cohort_id for r in rows}}
    return [(cohort, row) for row in rows if (cohort := found[row.cohort_id]) is not None]


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]


async def update(
    rt: MatchingRuntime,
    principal: Principal,
    cohort_id: uuid.UUID,
    participant_id: uuid.UUID,
    changes: dict[str, Any],  # Any: the changed profile fields as sent (validated here as a whole)
) -> tuple[CohortRow, ParticipantRow]:
    """Participants change their own profile (HR-managed fields are refused); HR may change any field."""
    async with transaction(rt.pool) as conn:
        cohort, row = await participant_in_view(conn, principal, cohort_id, participant_id, lock=True)
        if is_self(principal, row) and not principal.has(*HR_WRITE):
            refused = sorted(set(changes) - SELF_EDITABLE)
            if refused:
                raise invalid(
                    [
                        {
                            "field": f,
                            "message": "managed by HR; ask your HR contact to change it",
                            "type": "not_self_editable",
                        }
                        for f in refused
                    ]
                )
        elif not is_self(principal, row):
            ensure_can_write(principal)
        ensure_phase(
            cohort, PROFILE_EDIT_PHASES, "Profile frozen", "Profiles cannot change in phase {phase}."
        )
        if row.status != "enrolled":
            raise Problem(409, "Participant withdrawn", "A withdrawn participant's profile cannot change.")
        current = {f: getattr(row, f) for f in (KEY, *PROFILE_FIELDS)}
        try:
            profile = ParticipantIn.model_validate({**current, **changes})
        except ValidationError as exc:
            raise invalid(_validation_errors(exc)) from exc
        _check_region(cohort, profile.region)
        if not is_self(principal, row):
            _ensure_enrols_in_scope(principal, profile.region)  # HR cannot move a person out of scope
        now = rt.clock.now()
        row = await participants.update_profile(conn, participant_id, profile, now)
        await rt.outbox.add(
            conn, participant_event(row, inserted=False), subject=participant_subject(row), time=now
        )
    return cohort, row


async def _release_in(
    conn: Conn,
    outbox: Outbox,
    participant: ParticipantRow,
    reason: str,
    by: str,
    now: datetime,
    *,
    left_company: bool = False,
) -> None:
    """On withdrawal: open proposals are cancelled and formed pairs dissolved, freeing the partners;
    their place in a circle is freed (app/circles.release_in: refilled, or the circle goes on smaller,
    or is dissolved)."""
    for p in await proposals.pending_with(conn, participant.id):
        await proposal_steps.cancel_in(conn, outbox, p, participant.id, reason, now, cause="withdrawn")
    left = participant.id if left_company else None
    for pair in await pairs.formed_with(conn, participant.id):
        await dissolve_in(conn, outbox, pair, reason, by, now, left_participant_id=left)
    await circle_steps.release_in(
        conn, outbox, participant, now, cause="left_company" if left_company else "withdrawn"
    )


async def withdraw_in(
    conn: Conn,
    outbox: Outbox,
    participant: ParticipantRow,
    reason: str | None,
    by: str,
    now: datetime,
    *,
    left_company: bool = False,
) -> ParticipantRow:
    """The withdrawal itself, in the caller's transaction (the participant locked and enrolled):
    participant.withdrawn, open proposals cancelled, formed pairs dissolved. `left_company`: the
    person left the company (app/directory.py), so each pair.dissolved names them as the one who left."""
    row = await participants.withdraw(conn, participant.id, reason, now)
    await outbox.add(conn, participant_withdrawn(row, reason), subject=participant_subject(row), time=now)
    await _release_in(conn, outbox, row, reason or "participant withdrew", by, now, left_company=left_company)
    return row


async def withdraw(
    rt: MatchingRuntime,
    principal: Principal,
    cohort_id: uuid.UUID,
    participant_id: uuid.UUID,
    reason: str | None,
) -> tuple[CohortRow, ParticipantRow]:
    """Leaves the cohort: open proposals are cancelled, formed pairs dissolved, partners freed for rematch."""
    async with transaction(rt.pool) as conn:
        cohort, row = await participant_in_view(conn, principal, cohort_id, participant_id, lock=True)
        if not is_self(principal, row):
            ensure_can_write(principal)
        if row.status == "withdrawn":
            return cohort, row
        row = await withdraw_in(conn, rt.outbox, row, reason, principal.subject, rt.clock.now())
    return cohort, row


async def proposals_of(
    rt: MatchingRuntime,
    principal: Principal,
    cohort_id: uuid.UUID,
    participant_id: uuid.UUID,
    status: str | None,
) -> list[ProposalRow]:
    async with connection(rt.pool) as conn:
        await participant_in_view(conn, principal, cohort_id, participant_id)
        return await proposals.list_for_cohort(conn, cohort_id, status, participant_id)


@dataclass(frozen=True, slots=True)
class Suggested:
    partner: ParticipantRow
    suggestion: Suggestion


async def suggestions(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, participant_id: uuid.UUID, k: int
) -> list[Suggested]:
    """Top-k compatible partners (hard constraints and free capacity respected), best first, explained."""
    k = min(k, rt.settings.suggestions_max_k)
    async with connection(rt.pool) as conn:
        cohort, row = await participant_in_view(conn, principal, cohort_id, participant_id)
        _require_open_for_matching(cohort, row)
        state = await load_state(conn, cohort)
    # The cohort's index is reused while the data just loaded is what it was built from.
    cache = suggestion_cache(rt)
    found = await asyncio.to_thread(matching.suggestions, state, row.employee_id, k, cache=cache)
    return [Suggested(state.by_emp[s.partner_id], s) for s in found]


async def request_partner(
    rt: MatchingRuntime,
    principal: Principal,
    cohort_id: uuid.UUID,
    participant_id: uuid.UUID,
    partner_id: uuid.UUID,
    partner_role: str | None,
) -> ProposalRow:
    """A participant asks for a partner (e.g. from suggestions): a proposal they already accepted."""
    if Role.PARTICIPANT not in principal.roles:  # role before record (rule 9)
        raise Problem(403, "Forbidden", "Only the participant themself can request a partner.")
    async with transaction(rt.pool) as conn:
        await cohorts.get(conn, cohort_id, lock=True)  # serialises proposals per cohort
        cohort, me = await participant_in_view(conn, principal, cohort_id, participant_id)
        if not is_self(principal, me):
            raise Problem(403, "Forbidden", "Only the participant themself can request a partner.")
        _require_open_for_matching(cohort, me)
        partner = await participants.get(conn, partner_id)
        if (
            partner is None
            or partner.cohort_id != cohort_id
            or partner.status != "enrolled"
            or partner.id == me.id
        ):
            raise Problem(404, "Partner not found", "No enrolled participant with that id in this cohort.")
        state = await load_state(conn, cohort)
        orientations = [("mentor", partner, me), ("mentee", me, partner)]
        if partner_role is not None:
            orientations = [o for o in orientations if o[0] == partner_role]
        problems: dict[str, list[str]] = {}
        chosen = None
        for role, mentor, mentee in orientations:
            a = matching.assess_pair(state, mentor.employee_id, mentee.employee_id)
            issues = a.violations + matching.capacity_problems(state, mentor.employee_id, mentee.employee_id)
            if not issues:
                chosen = (mentor, mentee, a)
                break
            problems[f"partner_as_{role}"] = issues
        if chosen is None:
            raise Problem(
                409, "Pair not possible", "This pair breaks a hard constraint or capacity.", problems=problems
            )
        mentor, mentee, a = chosen
        now = rt.clock.now()
        [proposal] = await proposal_steps.create_in(
            conn,
            rt.outbox,
            cohort,
            [NewProposal(mentor.id, mentee.id, a.score, a.breakdown, a.explanation)],
            run_id=None,
            source="participant_request",
            requested_by=me.id,
            ttl_hours=rt.settings.proposal_ttl_hours,
            now=now,
        )
        side: Side = "mentor" if mentor.id == me.id else "mentee"
        return await proposal_steps.respond_in(conn, rt.outbox, cohort, proposal, side, True, None, now)
