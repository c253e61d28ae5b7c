"""HR's pages: cohorts (list, create, home, phase), the HRIS import with its progress and report.

Matching (run, review, publish), proposals and pairs are in `hr_matching`; the dashboard, exports and
the notification pages in `hr_reports`; circles in `hr_circles`. Every route needs an HR role; what a
regional HR person sees is what the APIs let them see, and a 403 or 404 from an API is shown as a
clear page (`HrRoute`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from bridge_web.api import hr_circles, hr_matching, hr_reports
from bridge_web.api.deps import CurrentUser, csrf_protect, get_backend, require_hr
from bridge_web.api.hr_common import HrRoute, act, base_context, redirect, said
from bridge_web.api.rendering import render, translations
from bridge_web.app import hr as use
from bridge_web.app.backend import Backend, BackendProblem, FieldError
from bridge_web.domain import hr
from bridge_web.domain.i18n import N_

router = APIRouter(prefix="/hr", route_class=HrRoute, tags=["hr"])


@router.get("/cohorts")
async def cohorts_page(
    request: Request, user: CurrentUser = Depends(require_hr), b: Backend = Depends(get_backend)
) -> Response:
    rows = await use.list_cohorts(b)
    return render(request, "hr/cohorts.html", {**base_context(), "cohorts": rows})


DATE_LABELS = (
    ("enrolment_opens", N_("Enrolment opens")),
    ("enrolment_closes", N_("Enrolment closes")),
    ("matching_date", N_("Matching date")),
    ("programme_start", N_("Programme starts")),
    ("programme_end", N_("Programme ends")),
)


def _new_cohort_page(
    request: Request, values: dict[str, Any], errors: dict[str, list[str]], problem: BackendProblem | None
) -> Response:
    gettext = translations(request).gettext
    shown = {name: [gettext(m) for m in messages] for name, messages in errors.items()}
    return render(
        request,
        "hr/cohort_new.html",
        {
            **base_context(),
            "values": values,
            "errors": shown,
            "problem": problem,
            "weights": hr.WEIGHTS,
            "date_fields": DATE_LABELS,
        },
        status_code=422 if problem else 200,
    )


@router.get("/cohorts/new")
async def new_cohort_page(request: Request, user: CurrentUser = Depends(require_hr)) -> Response:
    return _new_cohort_page(request, hr.default_cohort_values(), {}, None)


@router.post("/cohorts/new", dependencies=[Depends(csrf_protect)])
async def create_cohort(
    request: Request, user: CurrentUser = Depends(require_hr), b: Backend = Depends(get_backend)
) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    parsed, body = hr.parse_cohort_form(fields, [v for v in form.getlist("formats") if isinstance(v, str)])
    gettext = translations(request).gettext
    if parsed.errors:
        problem = BackendProblem(
            422,
            gettext(N_("Check the form")),
            gettext(N_("Some fields need another value.")),
            [FieldError(name, gettext(messages[0])) for name, messages in parsed.errors.items()],
        )
        return _new_cohort_page(request, parsed.values, parsed.errors, problem)
    try:
        cohort = await use.create_cohort(b, body)
    except BackendProblem as problem:
        if problem.status not in (409, 422):
            raise
        errors: dict[str, list[str]] = {}
        for e in problem.errors:
            errors.setdefault(hr.form_field_of(e.field), []).append(e.message)
        mapped = BackendProblem(
            problem.status,
            problem.title,
            problem.detail,
            [FieldError(name, "; ".join(messages)) for name, messages in errors.items()],
        )
        return _new_cohort_page(request, parsed.values, errors, mapped)
    said(request, N_("The cohort was created."))
    return redirect(f"/hr/cohorts/{cohort['id']}")


PHASE_HELP: dict[str, str] = {
    "enrolling": N_("Open enrolment: participants can be imported and enrolled."),
    "matching": N_("Start matching: enrolment closes for imports, and matching runs become possible."),
    "active": N_("Make the programme active: pairs work together; rematches stay possible."),
    "closing": N_("Start closing the programme."),
    "closed": N_("Close the programme."),
}


@router.get("/cohorts/{cohort_id}")
async def cohort_page(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    home = await use.cohort_home(b, cohort_id)
    return render(
        request,
        "hr/cohort.html",
        {
            **base_context(),
            "cohort": home.cohort,
            "enrolled": home.enrolled,
            "steps": home.steps,
            "runs": sorted(home.runs, key=lambda r: str(r.get("created_at", "")), reverse=True)[:5],
            "next_phase": hr.NEXT_PHASE.get(str(home.cohort["phase"])),
            "phase_help": PHASE_HELP,
        },
    )


@router.post("/cohorts/{cohort_id}/phase", dependencies=[Depends(csrf_protect)])
async def change_phase(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    form = await request.form()
    to_phase = str(form.get("to_phase", ""))
    back = f"/hr/cohorts/{cohort_id}"
    return await act(
        request,
        use.change_phase(b, cohort_id, to_phase),
        refused=N_("The phase was not changed."),
        done=N_("The cohort moved to its next phase."),
        back=back,
    )


# The HRIS import


@router.get("/cohorts/{cohort_id}/import")
async def import_page(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    return render(request, "hr/import.html", {**base_context(), "cohort": cohort, "problem": None})


@router.post("/cohorts/{cohort_id}/import", dependencies=[Depends(csrf_protect)])
async def upload_import(
    cohort_id: str,
    request: Request,
    file: UploadFile | None = File(None),
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    content = await file.read() if file is not None else b""
    gettext = translations(request).gettext
    if not content:
        return render(
            request,
            "hr/import.html",
            {
                **base_context(),
                "cohort": cohort,
                "problem": None,
                "file_error": gettext(N_("Choose a CSV file.")),
            },
            status_code=422,
        )
    try:
        job = await use.start_import(b, cohort_id, content)
    except BackendProblem as problem:
        if problem.status not in (409, 413, 415, 422):
            raise
        return render(
            request,
            "hr/import.html",
            {**base_context(), "cohort": cohort, "problem": problem},
            status_code=problem.status,
        )
    return redirect(f"/hr/cohorts/{cohort_id}/imports/{job['id']}")


@router.get("/cohorts/{cohort_id}/imports/{job_id}")
async def import_status_page(
    cohort_id: str,
    job_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    job = await use.get_import(b, job_id)
    if str(job.get("cohort_id")) != cohort_id:
        raise BackendProblem(404, "Not found", "This import belongs to another cohort.")
    return render(
        request,
        "hr/import_status.html",
        {
            **base_context(),
            "cohort": cohort,
            "job": job,
            "report": job.get("report"),
            "in_progress": job.get("status") in ("queued", "running"),
            "status_labels": hr.IMPORT_STATUS_LABELS,
        },
    )


router.include_router(hr_matching.router)
router.include_router(hr_reports.router)
router.include_router(hr_circles.router)
