"""Matching runs: solve the cohort and form pairs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, status

from bridge_matching.api.access import ensure_cohort_visible
from bridge_matching.api.schemas import MatchingRunOut, PairOut, UnmatchedOut
from bridge_matching.db import repository as repo
from bridge_matching.domain.engine_adapter import engine_population, policy_from
from bridge_matching.domain.events import participant_ref
from bridge_matching.engine import run_matching
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.matching import MatchExplanation, PairFormedV1
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/cohorts/{cohort_id}", tags=["matching"])


def _breakdown(b: Any) -> dict[str, float]:
    return {
        "skills_mentor_to_mentee": b.skills_mentor_to_mentee,
        "skills_mentee_to_mentor": b.skills_mentee_to_mentor,
        "availability": b.availability,
        "cross_department": b.cross_department,
        "requested_partner": b.requested_partner,
        "overlap_hours": b.overlap_hours,
    }


@router.post("/matching-runs", status_code=status.HTTP_201_CREATED, response_model=MatchingRunOut)
async def start_matching_run(
    cohort_id: UUID, principal: Principal = Depends(require(*HR_ROLES)), rt: Runtime = Depends(get_runtime)
) -> MatchingRunOut:
    async with rt.pool.acquire() as conn, conn.transaction():
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id, for_update=True))
        rows = await repo.enrolled_participants(conn, cohort_id)
        if len(rows) < 2:
            raise Problem(409, "Not enough participants", "A matching run needs at least two participants.")
        by_employee = {r["employee_id"]: r for r in rows}
        existing = await repo.active_pairs(conn, cohort_id)
        by_id = {r["id"]: r for r in rows}
        fixed = [(by_id[p["mentor_id"]]["employee_id"], by_id[p["mentee_id"]]["employee_id"])
                 for p in existing if p["mentor_id"] in by_id and p["mentee_id"] in by_id]
        policy = policy_from(cohort["policy"])
        # The solver is CPU-bound; keep the event loop responsive.
        result = await asyncio.to_thread(run_matching, engine_population(rows), policy, fixed_pairs=fixed)
        new_pairs = [p for p in result.pairs if p.origin == "matched"]
        stats = {"participants": result.stats.participants, "pairs": len(new_pairs),
                 "total_score": round(result.stats.total_score, 4), "unmatched": len(result.unmatched)}
        unmatched = [{"participant_id": str(by_employee[u.participant_id]["id"]), "reason_code": u.reason_code,
                      "reason": u.reason} for u in result.unmatched]
        run_id = await repo.insert_run(conn, cohort_id, principal.subject, stats, unmatched)
        out: list[PairOut] = []
        for p in new_pairs:
            mentor, mentee = by_employee[p.mentor_id], by_employee[p.mentee_id]
            breakdown = _breakdown(p.breakdown)
            row = await repo.insert_pair(conn, cohort_id=cohort_id, run_id=run_id, mentor_id=mentor["id"],
                                         mentee_id=mentee["id"], score=p.score, breakdown=breakdown,
                                         explanation=p.explanation)
            await rt.outbox.add(
                conn,
                PairFormedV1(
                    pair_id=str(row["id"]), cohort_id=str(cohort_id), mentor=participant_ref(mentor),
                    mentee=participant_ref(mentee),
                    explanation=MatchExplanation(score=p.score, breakdown=breakdown, summary=p.explanation),
                    formed_at=datetime.now(UTC), programme_end=cohort["programme_end"],
                    hr_contact_email=cohort["hr_contact_email"],
                ),
                subject=f"cohort/{cohort_id}/pair/{row['id']}",
            )
            out.append(PairOut.model_validate(dict(row)))
    return MatchingRunOut(id=run_id, cohort_id=cohort_id, status="completed", pairs=out,
                          unmatched=[UnmatchedOut.model_validate(u) for u in unmatched], stats=stats)


@router.get("/pairs", response_model=list[PairOut])
async def list_pairs(
    cohort_id: UUID, principal: Principal = Depends(require(*HR_ROLES)), rt: Runtime = Depends(get_runtime)
) -> list[PairOut]:
    async with rt.pool.acquire() as conn:
        ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        rows = await repo.active_pairs(conn, cohort_id)
    return [PairOut.model_validate(dict(r)) for r in rows]
