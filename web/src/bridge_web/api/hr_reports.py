"""The programme dashboard (reporting's figures, people and cohorts by name), the exports, the delivery
log and the cohort's notification defaults: the pages HR's e-mails link to."""

from __future__ import annotations

from datetime import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from bridge_web.api.deps import CurrentUser, csrf_protect, get_backend, request_locale, require_hr
from bridge_web.api.hr_common import HrRoute, base_context, redirect, said
from bridge_web.api.rendering import render, translations
from bridge_web.app import hr as use
from bridge_web.app.backend import Backend, BackendProblem, FieldError
from bridge_web.domain import hr_charts, hr_dashboard
from bridge_web.domain.i18n import LOCALE_NAMES, LOCALES, N_

router = APIRouter(route_class=HrRoute)


@router.get("/cohorts/{cohort_id}/dashboard")
async def dashboard_page(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    data = await use.dashboard(b, cohort_id)
    locale = translations(request)
    kpis: dict[str, Any] = data.overview["kpis"]
    funnel = hr_dashboard.funnel(data.overview.get("funnel") or [])
    weeks = data.weeks
    return render(
        request,
        "hr/dashboard.html",
        {
            **base_context(),
            "cohort": cohort,
            "cohort_id": cohort_id,
            "cohort_name": data.overview.get("cohort_name") or cohort["name"],
            "overview": data.overview,
            "tiles": hr_dashboard.tiles(kpis, request_locale(request)),
            "funnel": funnel,
            "funnel_chart": hr_charts.hbar_chart(
                [
                    (locale.gettext(label), float(n), hr_dashboard.number(n, request_locale(request)))
                    for label, n in funnel
                ]
            ),
            "weeks": weeks,
            "week_chart": hr_charts.column_chart(
                [(str(w["week"]), float(w.get("sessions_held") or 0)) for w in weeks]
            ),
            "regions": data.regions,
            "at_risk": data.at_risk,
            "flagged": data.flagged,
            "export_datasets": hr_dashboard.EXPORTS,
        },
    )


@router.get("/cohorts/{cohort_id}/exports/{filename}")
async def export(
    cohort_id: str,
    filename: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    dataset, _, extension = filename.partition(".")
    if dataset not in use.EXPORT_DATASETS or extension not in use.EXPORT_FORMATS:
        raise BackendProblem(404, "Not found", "There is no such export.")
    await use.get_cohort(b, cohort_id)  # 404 for a cohort outside the caller's regions
    download = await b.stream(
        "reporting", f"/reports/exports/{dataset}.{extension}", params={"cohort_id": cohort_id}
    )
    disposition = download.content_disposition or f'attachment; filename="bridge-{dataset}.{extension}"'
    return StreamingResponse(
        download.chunks(),
        media_type=download.media_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
        background=BackgroundTask(download.aclose),
    )


DELIVERY_STATUSES = (
    ("pending", N_("Waiting")),
    ("sending", N_("Sending")),
    ("sent", N_("Sent")),
    ("failed", N_("Failed")),
    ("cancelled", N_("Cancelled")),
    ("digest", N_("Held for a digest")),
    ("digested", N_("Sent in a digest")),
)
CHANNEL_LABELS = {"email": N_("E-mail"), "chat": N_("Chat"), "inbox": N_("Inbox")}


@router.get("/deliveries")
async def deliveries_page(
    request: Request,
    cohort_id: str | None = Query(None, max_length=128),
    status: str | None = Query(None, max_length=32),
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id) if cohort_id else None
    known = {key for key, _ in DELIVERY_STATUSES}
    chosen = status if status in known else None
    rows = await use.deliveries(b, cohort_id, chosen, limit=500)
    return render(
        request,
        "hr/deliveries.html",
        {
            **base_context(),
            "cohort": cohort,
            "cohort_id": cohort_id,
            "status": chosen,
            "statuses": DELIVERY_STATUSES,
            "status_labels": dict(DELIVERY_STATUSES),
            "channel_labels": CHANNEL_LABELS,
            "deliveries": rows,
        },
    )


DIGEST_OPTIONS = (("", N_("Service default")), ("immediate", N_("Right away")), ("daily", N_("Once a day")))


def _defaults_values(row: dict[str, Any]) -> dict[str, Any]:
    def hhmm(value: Any) -> str:
        return str(value)[:5] if value else ""

    return {
        "channels": row.get("channels"),
        "quiet_start": hhmm(row.get("quiet_start")),
        "quiet_end": hhmm(row.get("quiet_end")),
        "digest": row.get("digest") or "",
        "locale": row.get("locale") or "",
        "escalate_after_days": ""
        if row.get("escalate_after_days") is None
        else str(row["escalate_after_days"]),
        "hr_locale": row.get("hr_locale") or "",
        "hr_timezone": row.get("hr_timezone") or "",
    }


def _defaults_page(
    request: Request,
    cohort: dict[str, Any],
    values: dict[str, Any],
    webhook: dict[str, Any],
    problem: BackendProblem | None,
    errors: dict[str, list[str]],
) -> Response:
    gettext = translations(request).gettext
    locale_options = [("", gettext(N_("Service default")))] + [(code, LOCALE_NAMES[code]) for code in LOCALES]
    return render(
        request,
        "hr/notification_defaults.html",
        {
            **base_context(),
            "cohort": cohort,
            "values": values,
            "errors": errors,
            "problem": problem,
            "hr_webhook": webhook,
            "channel_labels": CHANNEL_LABELS,
            "digest_options": [(key, gettext(label)) for key, label in DIGEST_OPTIONS],
            "locale_options": locale_options,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/cohorts/{cohort_id}/notification-defaults")
async def notification_defaults_page(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    row = await use.notification_defaults(b, cohort_id)
    return _defaults_page(request, cohort, _defaults_values(row), row.get("hr_chat_webhook") or {}, None, {})


def _time_or_none(text: str) -> str | None:
    if not text:
        return None
    try:
        return time.fromisoformat(text).isoformat(timespec="minutes")
    except ValueError:
        return text  # the service names the field in its answer


@router.post("/cohorts/{cohort_id}/notification-defaults", dependencies=[Depends(csrf_protect)])
async def save_notification_defaults(
    cohort_id: str,
    request: Request,
    user: CurrentUser = Depends(require_hr),
    b: Backend = Depends(get_backend),
) -> Response:
    cohort = await use.get_cohort(b, cohort_id)
    form = await request.form()
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    channels = None if text.get("channels_inherit") else [str(c) for c in form.getlist("channels")]
    days = text.get("escalate_after_days", "")
    body: dict[str, Any] = {
        "channels": channels,
        "quiet_start": _time_or_none(text.get("quiet_start", "")),
        "quiet_end": _time_or_none(text.get("quiet_end", "")),
        "digest": text.get("digest") or None,
        "locale": text.get("locale") or None,
        "escalate_after_days": int(days) if days.isdigit() else (days or None),
        "hr_locale": text.get("hr_locale") or None,
        "hr_timezone": text.get("hr_timezone") or None,
    }
    values = {**body, "channels": channels, "escalate_after_days": days}
    values.update(
        {
            k: text.get(k, "")
            for k in ("quiet_start", "quiet_end", "digest", "locale", "hr_locale", "hr_timezone")
        }
    )
    try:
        await use.save_notification_defaults(b, cohort_id, body)
    except BackendProblem as problem:
        if problem.status not in (409, 422):
            raise
        errors: dict[str, list[str]] = {}
        for e in problem.errors:
            parts = [p for p in e.field.split(".") if p and p != "body"]
            errors.setdefault(parts[0] if parts else "", []).append(e.message)
        mapped = BackendProblem(
            problem.status,
            problem.title,
            problem.detail,
            [FieldError(name, "; ".join(m)) for name, m in errors.items()],
        )
        return _defaults_page(request, cohort, values, {}, mapped, errors)
    said(request, N_("The notification defaults were saved."))
    return redirect(f"/hr/cohorts/{cohort_id}/notification-defaults")
