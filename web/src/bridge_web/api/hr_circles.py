"""Mentoring circles for HR: form draft circles, review and publish them, and the page of one circle
(linked from the circle e-mails HR gets)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bridge_web.api.deps import (
    CurrentUser,
    csrf_protect,
    get_backend,
    request_locale,
    request_timezone,
    require_hr,
)
from bridge_web.api.hr_common import HrRoute, act, base_context, redirect, refuse_or_raise, said
from bridge_web.api.rendering import render
from bridge_web.app import hr as use
from bridge_web.app.backend import Backend, BackendProblem
from bridge_web.domain import hr
from bridge_web.domain.i18n import N_

router = APIRouter(route_class=HrRoute)


def _circles_url(cohort_id: str) -> str:
    return f"/hr/cohorts/{cohort_id}/circles"


def _labels() -> dict[str, object]:
    return {
        "circle_labels": hr.CIRCLE_STATUS_LABELS,
        "generation_labels": hr.GENERATION_LABELS,
        "member_labels": hr.MEMBER_STATUS_LABELS,
    }


@router.get("/cohorts/{cohort_id}/circles")
async def circles_page(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    draft = None
    published: list[dict[str, object]] = []
    if "circles" in cohort.get("formats", []):
        runs = await use.circle_runs(b, cohort_id)
        drafts = [r for r in runs if r.get("status") == "draft"]
        draft = max(drafts, key=lambda r: str(r.get("created_at", ""))) if drafts else None
        published = await use.circles(b, cohort_id)
    return render(
        request,
        "hr/circles.html",
        {**base_context(), **_labels(), "cohort": cohort, "draft": draft, "circles": published},
    )


@router.post("/cohorts/{cohort_id}/circles/start", dependencies=[Depends(csrf_protect)])
async def start_circles(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    return await act(
        request,
        use.start_circle_run(b, cohort_id),
        refused=N_("No circles were formed."),
        done=N_("Draft circles are ready for review."),
        back=_circles_url(cohort_id),
    )


@router.post("/cohorts/{cohort_id}/circles/runs/{run_id}/resolve", dependencies=[Depends(csrf_protect)])
async def resolve_circles(
    cohort_id: str,
    run_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    await use.circle_run_of_cohort(b, cohort_id, run_id)
    return await act(
        request,
        use.resolve_circles(b, run_id),
        refused=N_("The circles were not re-solved."),
        done=N_("The circles were re-solved."),
        back=_circles_url(cohort_id),
    )


@router.post("/cohorts/{cohort_id}/circles/runs/{run_id}/publish", dependencies=[Depends(csrf_protect)])
async def publish_circles(
    cohort_id: str,
    run_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    await use.circle_run_of_cohort(b, cohort_id, run_id)
    return await act(
        request,
        use.publish_circles(b, run_id),
        refused=N_("The circles were not published."),
        done=N_("The circles are published: every member is invited."),
        back=_circles_url(cohort_id),
    )


async def _form_text(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


@router.post("/cohorts/{cohort_id}/circles/runs/{run_id}/move", dependencies=[Depends(csrf_protect)])
async def move_member(
    cohort_id: str,
    run_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    """Moves a member of a draft circle (or someone left out) into another draft circle; with `force`
    even when the circles then break a hard rule (they show it)."""
    await use.circle_run_of_cohort(b, cohort_id, run_id)
    form = await _form_text(request)
    return await act(
        request,
        use.move_circle_member(
            b,
            run_id,
            form.get("participant_id", ""),
            form.get("to_circle_id", ""),
            force=bool(form.get("force")),
        ),
        refused=N_("Nobody was moved."),
        done=N_("The member was moved."),
        back=_circles_url(cohort_id),
    )


@router.post(
    "/cohorts/{cohort_id}/circles/runs/{run_id}/circles/{circle_id}/members/{participant_id}/remove",
    dependencies=[Depends(csrf_protect)],
)
async def remove_member(
    cohort_id: str,
    run_id: str,
    circle_id: str,
    participant_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    """Takes a member out of a draft circle: they stay out of this draft and its re-solves until HR
    moves them back into a circle."""
    await use.circle_run_of_cohort(b, cohort_id, run_id)
    form = await _form_text(request)
    return await act(
        request,
        use.remove_circle_member(b, run_id, circle_id, participant_id, force=bool(form.get("force"))),
        refused=N_("Nobody was removed."),
        done=N_("The member was taken out of the draft; re-solving leaves them out."),
        back=_circles_url(cohort_id),
    )


@router.post(
    "/cohorts/{cohort_id}/circles/runs/{run_id}/circles/{circle_id}/pin",
    dependencies=[Depends(csrf_protect)],
)
async def pin_circle(
    cohort_id: str,
    run_id: str,
    circle_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    """Pins a draft circle (a re-solve keeps its members together), or unpins it (`pinned=false`)."""
    await use.circle_run_of_cohort(b, cohort_id, run_id)
    pinned = (await _form_text(request)).get("pinned", "true") != "false"
    try:
        await use.set_circle_pin(b, run_id, circle_id, pinned)
    except BackendProblem as problem:
        return await refuse_or_raise(
            request, problem, N_("The circle was not changed."), _circles_url(cohort_id)
        )
    said(request, N_("The circle is pinned.") if pinned else N_("The circle is no longer pinned."))
    return redirect(_circles_url(cohort_id))


@router.get("/cohorts/{cohort_id}/circles/{circle_id}")
async def circle_page(
    cohort_id: str,
    circle_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    circle = await use.circle(b, circle_id)
    if str(circle.get("cohort_id")) != cohort_id:
        raise BackendProblem(404, "Not found", "This circle belongs to another cohort.")
    locale = request_locale(request)
    slot = hr.slot_text(
        circle.get("weekly_slot"), locale=locale, tz=request_timezone(request), today=datetime.now(UTC).date()
    )
    return render(
        request,
        "hr/circle.html",
        {
            **base_context(),
            **_labels(),
            "cohort": cohort,
            "circle": circle,
            "slot": slot,
            "language_name": lambda code: hr.language_name(code, locale),
        },
    )
