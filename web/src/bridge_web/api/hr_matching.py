"""Matching for HR: start a run and follow its progress, review the draft (each pair's explanation and
score breakdown, the unmatched people and why), pin, remove, swap, re-solve, publish; then follow the
proposals and pairs."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bridge_web.api.deps import CurrentUser, csrf_protect, get_backend, require_hr
from bridge_web.api.hr_common import HrRoute, act, base_context, redirect, refuse_or_raise, said
from bridge_web.api.rendering import render
from bridge_web.app import hr as use
from bridge_web.app.backend import Backend, BackendProblem
from bridge_web.domain import hr
from bridge_web.domain.i18n import N_

router = APIRouter(route_class=HrRoute)


def _matching_url(cohort_id: str) -> str:
    return f"/hr/cohorts/{cohort_id}/matching"


@router.get("/cohorts/{cohort_id}/matching")
async def matching_page(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    runs = await use.runs(b, cohort_id)
    run = hr.latest_run(runs)
    people = hr.people_by_id(await use.participants(b, cohort_id)) if run else {}
    in_progress = hr.run_in_progress(run)
    weights = (cohort.get("policy") or {}).get("weights") or {}
    return render(
        request,
        "hr/matching.html",
        {
            **base_context(),
            "cohort": cohort,
            "run": run,
            "people": people,
            "weights": weights,
            "score_lines": hr.score_lines,
            "in_progress": in_progress,
            "can_start": cohort["phase"] in hr.MATCHING_PHASES and not in_progress,
        },
    )


@router.post("/cohorts/{cohort_id}/matching/start", dependencies=[Depends(csrf_protect)])
async def start_run(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    return await act(
        request,
        use.start_run(b, cohort_id),
        refused=N_("Matching did not start."),
        done=N_("Matching started."),
        back=_matching_url(cohort_id),
    )


@router.post(
    "/cohorts/{cohort_id}/matching/{run_id}/pairs/{pair_id}/pin", dependencies=[Depends(csrf_protect)]
)
async def pin_pair(
    cohort_id: str,
    run_id: str,
    pair_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    form = await request.form()
    pinned = str(form.get("pinned", "true")) == "true"
    await use.run_of_cohort(b, cohort_id, run_id)
    try:
        await use.set_pin(b, run_id, pair_id, pinned)
    except BackendProblem as problem:
        return await refuse_or_raise(
            request, problem, N_("The pair was not changed."), _matching_url(cohort_id)
        )
    said(request, N_("The pair is pinned.") if pinned else N_("The pair is no longer pinned."))
    return redirect(_matching_url(cohort_id))


@router.post(
    "/cohorts/{cohort_id}/matching/{run_id}/pairs/{pair_id}/remove", dependencies=[Depends(csrf_protect)]
)
async def remove_pair(
    cohort_id: str,
    run_id: str,
    pair_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    await use.run_of_cohort(b, cohort_id, run_id)
    return await act(
        request,
        use.remove_pair(b, run_id, pair_id),
        refused=N_("The pair was not removed."),
        done=N_("The pair was removed from the draft; a re-solve will not propose it again."),
        back=_matching_url(cohort_id),
    )


@router.post("/cohorts/{cohort_id}/matching/{run_id}/swap", dependencies=[Depends(csrf_protect)])
async def swap_pairs(
    cohort_id: str,
    run_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    form = await request.form()
    pair_a, pair_b = str(form.get("pair_a", "")), str(form.get("pair_b", ""))
    await use.run_of_cohort(b, cohort_id, run_id)
    return await act(
        request,
        use.swap(b, run_id, pair_a, pair_b),
        refused=N_("The mentees were not swapped."),
        done=N_("The mentees were swapped; both new pairs are pinned."),
        back=_matching_url(cohort_id),
    )


@router.post("/cohorts/{cohort_id}/matching/{run_id}/resolve", dependencies=[Depends(csrf_protect)])
async def resolve(
    cohort_id: str,
    run_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    await use.run_of_cohort(b, cohort_id, run_id)
    return await act(
        request,
        use.resolve(b, run_id),
        refused=N_("The draft was not re-solved."),
        done=N_("Re-solving the draft."),
        back=_matching_url(cohort_id),
    )


@router.post("/cohorts/{cohort_id}/matching/{run_id}/publish", dependencies=[Depends(csrf_protect)])
async def publish(
    cohort_id: str,
    run_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    await use.run_of_cohort(b, cohort_id, run_id)
    return await act(
        request,
        use.publish(b, run_id),
        refused=N_("The draft was not published."),
        done=N_("The draft is published: every pair has its proposal."),
        back=_matching_url(cohort_id),
        then=f"/hr/cohorts/{cohort_id}/proposals",
    )


@router.get("/cohorts/{cohort_id}/proposals")
async def proposals_page(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    proposals = await use.proposals(b, cohort_id)
    pairs = await use.pairs(b, cohort_id)
    people = hr.people_by_id(await use.participants(b, cohort_id))
    counts = sorted(Counter(str(p["status"]) for p in proposals).items())
    return render(
        request,
        "hr/proposals.html",
        {
            **base_context(),
            "cohort": cohort,
            "proposals": proposals,
            "pairs": pairs,
            "people": people,
            "counts": counts,
            "proposal_labels": hr.PROPOSAL_STATUS_LABELS,
            "pair_labels": hr.PAIR_STATUS_LABELS,
            "answer_labels": hr.ANSWER_LABELS,
        },
    )
