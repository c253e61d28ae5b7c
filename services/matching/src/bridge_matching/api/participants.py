"""Participants: HR enrolment, self-service profile, withdrawal, suggestions and partner requests."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import ValidationError

from bridge_matching.api.access import (
    HR_WRITE,
    anyone,
    ensure_can_write,
    ensure_cohort_visible,
    get_clock,
    hr_read,
    hr_write,
    is_self,
    participant_in_view,
)
from bridge_matching.api.schemas import (
    SELF_EDITABLE,
    ParticipantIn,
    ParticipantOut,
    ParticipantPatch,
    ProposalOut,
    RequestIn,
    SkillTag,
    SuggestionOut,
    WithdrawIn,
)
from bridge_matching.db import repository as repo
from bridge_matching.domain import matching, workflow
from bridge_matching.domain.events import participant_event, participant_subject
from bridge_matching.domain.phases import ENROLMENT_PHASES, MATCHING_PHASES, PROFILE_EDIT_PHASES
from bridge_matching.settings import MatchingSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.matching import ParticipantWithdrawnV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.http.problems import TYPE_BASE, Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/cohorts/{cohort_id}/participants", tags=["participants"])


def participant_out(row: Any, taxonomy: list[str]) -> ParticipantOut:
    known = set(taxonomy)
    tags = [
        SkillTag.model_validate({"name": s, "direction": d, "kind": "taxonomy" if s in known else "free"})
        for d, key in (("share", "skills_to_share"), ("learn", "skills_to_learn"))
        for s in row[key]
    ]
    return ParticipantOut.model_validate({**dict(row), "skill_tags": tags})


def invalid(errors: list[dict[str, str]]) -> Problem:
    return Problem(
        422,
        "Invalid request",
        f"{len(errors)} field(s) failed validation",
        type_=f"{TYPE_BASE}invalid-request",
        errors=errors,
    )


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]


def _check_region(cohort: Any, region: str) -> None:
    if region not in cohort["regions"]:
        raise invalid(
            [
                {
                    "field": "region",
                    "message": f"{region!r} is not one of the cohort's regions",
                    "type": "value_error",
                }
            ]
        )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ParticipantOut)
async def enrol_participant(
    cohort_id: UUID,
    body: ParticipantIn,
    response: Response,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> ParticipantOut:
    """Enrols (or updates, by employee id) one participant. 201 when new, 200 otherwise."""
    async with transaction(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id, for_update=True))
        if cohort["phase"] not in ENROLMENT_PHASES:
            raise Problem(
                409,
                "Enrolment closed",
                f"Cohort is in phase {cohort['phase']!r}; HR enrolment needs draft or enrolling.",
                current_phase=cohort["phase"],
            )
        _check_region(cohort, body.region)
        row, inserted = await repo.upsert_participant(conn, cohort_id, body, clock.now())
        if row is None:
            row = await repo.participant_by_employee(conn, cohort_id, body.employee_id)
        else:
            await rt.outbox.add(
                conn,
                participant_event(row, inserted=inserted),
                subject=participant_subject(row),
                time=clock.now(),
            )
        if not inserted:
            response.status_code = status.HTTP_200_OK
    return participant_out(row, cohort["skill_taxonomy"])


@router.get("", response_model=list[ParticipantOut])
async def list_participants(
    cohort_id: UUID,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(hr_read),
    rt: Runtime = Depends(get_runtime),
) -> list[ParticipantOut]:
    async with connection(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        rows = await repo.participants_page(conn, cohort_id, limit, offset)
    return [participant_out(r, cohort["skill_taxonomy"]) for r in rows]


@router.get("/{participant_id}", response_model=ParticipantOut)
async def get_participant(
    cohort_id: UUID,
    participant_id: UUID,
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
) -> ParticipantOut:
    async with connection(rt.pool) as conn:
        cohort, row = await participant_in_view(conn, principal, cohort_id, participant_id)
    return participant_out(row, cohort["skill_taxonomy"])


@router.patch("/{participant_id}", response_model=ParticipantOut)
async def update_participant(
    cohort_id: UUID,
    participant_id: UUID,
    body: ParticipantPatch,
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> ParticipantOut:
    """Participants change their own profile (HR-managed fields are refused); HR may change any field."""
    changes = body.model_dump(exclude_unset=True)
    async with transaction(rt.pool) as conn:
        cohort, row = await participant_in_view(conn, principal, cohort_id, participant_id, for_update=True)
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
        if cohort["phase"] not in PROFILE_EDIT_PHASES:
            raise Problem(
                409,
                "Profile frozen",
                f"Profiles cannot change in phase {cohort['phase']!r}.",
                current_phase=cohort["phase"],
            )
        if row["status"] != "enrolled":
            raise Problem(409, "Participant withdrawn", "A withdrawn participant's profile cannot change.")
        current = {k: row[k] for k in ParticipantIn.model_fields}
        try:
            profile = ParticipantIn.model_validate({**current, **changes})
        except ValidationError as exc:
            raise invalid(_validation_errors(exc)) from exc
        _check_region(cohort, profile.region)
        now = clock.now()
        row = await repo.update_profile(conn, participant_id, profile, now)
        await rt.outbox.add(
            conn, participant_event(row, inserted=False), subject=participant_subject(row), time=now
        )
    return participant_out(row, cohort["skill_taxonomy"])


@router.post("/{participant_id}/withdraw", response_model=ParticipantOut)
async def withdraw_participant(
    cohort_id: UUID,
    participant_id: UUID,
    body: WithdrawIn,
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> ParticipantOut:
    """Leaves the cohort: open proposals are cancelled, formed pairs dissolved, partners freed for rematch."""
    async with transaction(rt.pool) as conn:
        cohort, row = await participant_in_view(conn, principal, cohort_id, participant_id, for_update=True)
        if not is_self(principal, row):
            ensure_can_write(principal)
        if row["status"] == "withdrawn":
            return participant_out(row, cohort["skill_taxonomy"])
        now = clock.now()
        row = await repo.withdraw(conn, participant_id, body.reason, now)
        await rt.outbox.add(
            conn,
            ParticipantWithdrawnV1(
                participant_id=str(row["id"]), cohort_id=str(cohort_id), reason=body.reason
            ),
            subject=participant_subject(row),
            time=now,
        )
        await workflow.release_participant(
            conn, rt.outbox, row, body.reason or "participant withdrew", principal.subject, now
        )
    return participant_out(row, cohort["skill_taxonomy"])


@router.get("/{participant_id}/proposals", response_model=list[ProposalOut])
async def participant_proposals(
    cohort_id: UUID,
    participant_id: UUID,
    status_: str | None = Query(None, alias="status"),
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
) -> list[ProposalOut]:
    async with connection(rt.pool) as conn:
        await participant_in_view(conn, principal, cohort_id, participant_id)
        rows = await repo.list_proposals(conn, cohort_id, status_, participant_id)
    return [ProposalOut.model_validate(dict(r)) for r in rows]


@router.get("/{participant_id}/suggestions", response_model=list[SuggestionOut])
async def suggestions(
    cohort_id: UUID,
    participant_id: UUID,
    k: int = Query(5, ge=1),
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
) -> list[SuggestionOut]:
    """Top-k compatible partners (hard constraints and free capacity respected), best first, explained."""
    settings = rt.settings
    assert isinstance(settings, MatchingSettings)
    k = min(k, settings.suggestions_max_k)
    async with connection(rt.pool) as conn:
        cohort, row = await participant_in_view(conn, principal, cohort_id, participant_id)
        _require_open_for_matching(cohort, row)
        state = await matching.load_state(conn, cohort)
    found = await asyncio.to_thread(matching.suggestions, state, row["employee_id"], k)
    return [
        SuggestionOut(
            participant_id=state.by_emp[s.partner_id]["id"],
            employee_id=s.partner_id,
            display_name=state.by_emp[s.partner_id]["display_name"],
            as_role=s.as_role,
            score=s.score,
            breakdown=matching.breakdown_dict(s.breakdown),
            explanation=s.explanation,
        )
        for s in found
    ]


def _require_open_for_matching(cohort: Any, participant: Any) -> None:
    if cohort["phase"] not in MATCHING_PHASES:
        raise Problem(
            409,
            "Matching not open",
            f"Cohort is in phase {cohort['phase']!r}; this needs matching or active.",
            current_phase=cohort["phase"],
        )
    if participant["status"] != "enrolled":
        raise Problem(409, "Participant withdrawn", "A withdrawn participant cannot be matched.")


@router.post("/{participant_id}/requests", status_code=status.HTTP_201_CREATED, response_model=ProposalOut)
async def request_partner(
    cohort_id: UUID,
    participant_id: UUID,
    body: RequestIn,
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> ProposalOut:
    """A participant asks for a partner (e.g. from suggestions): a proposal they already accepted."""
    settings = rt.settings
    assert isinstance(settings, MatchingSettings)
    async with transaction(rt.pool) as conn:
        cohort = await repo.get_cohort(conn, cohort_id, for_update=True)  # serialises proposals per cohort
        cohort, me = await participant_in_view(conn, principal, cohort_id, participant_id)
        if not is_self(principal, me):
            raise Problem(403, "Forbidden", "Only the participant themself can request a partner.")
        _require_open_for_matching(cohort, me)
        partner = await repo.get_participant(conn, body.partner_id)
        if (
            partner is None
            or partner["cohort_id"] != cohort_id
            or partner["status"] != "enrolled"
            or partner["id"] == me["id"]
        ):
            raise Problem(404, "Partner not found", "No enrolled participant with that id in this cohort.")
        state = await matching.load_state(conn, cohort)
        orientations = [("mentor", partner, me), ("mentee", me, partner)]
        if body.partner_role is not None:
            orientations = [o for o in orientations if o[0] == body.partner_role]
        problems: dict[str, list[str]] = {}
        chosen = None
        for role, mentor, mentee in orientations:
            a = matching.assess_pair(state, mentor["employee_id"], mentee["employee_id"])
            issues = a.violations + matching.capacity_problems(
                state, mentor["employee_id"], mentee["employee_id"]
            )
            if not issues:
                chosen = (mentor, mentee, a)
                break
            problems[f"partner_as_{role}"] = issues
        if chosen is None:
            raise Problem(
                409, "Pair not possible", "This pair breaks a hard constraint or capacity.", problems=problems
            )
        mentor, mentee, a = chosen
        now = clock.now()
        [proposal] = await workflow.create_proposals(
            conn,
            rt.outbox,
            cohort,
            [
                {
                    "mentor_id": mentor["id"],
                    "mentee_id": mentee["id"],
                    "score": a.score,
                    "breakdown": a.breakdown,
                    "explanation": a.explanation,
                }
            ],
            run_id=None,
            source="participant_request",
            requested_by=me["id"],
            ttl_hours=settings.proposal_ttl_hours,
            now=now,
        )
        side = "mentor" if mentor["id"] == me["id"] else "mentee"
        proposal = await workflow.respond(conn, rt.outbox, cohort, proposal, side, True, None, now)
    return ProposalOut.model_validate(dict(proposal))
