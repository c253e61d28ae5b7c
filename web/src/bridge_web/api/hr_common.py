"""What every HR router shares: the guard that turns a service's refusal into a clear page, redirects
and flash messages, and the labels every HR template uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from bridge_web.api.rendering import flash, render, translations
from bridge_web.app.backend import BackendProblem
from bridge_web.domain import hr
from bridge_web.domain.i18n import N_

PROBLEM_PAGES: dict[int, tuple[str, str]] = {
    403: (
        N_("Not allowed"),
        N_(
            "You do not have access to this. Regional HR see and change only what touches their regions; "
            "changes to a whole cohort need every region of the cohort."
        ),
    ),
    404: (
        N_("Not found"),
        N_("This does not exist, or it is outside the regions you manage."),
    ),
}
OTHER_PROBLEM = (
    N_("Something went wrong"),
    N_("A service could not answer this request. Try again in a moment."),
)


def problem_page(request: Request, problem: BackendProblem) -> Response:
    """A localised page for a service's refusal (403, 404) or failure, with the service's words."""
    gettext = translations(request).gettext
    heading, message = PROBLEM_PAGES.get(problem.status, OTHER_PROBLEM)
    status = problem.status if problem.status < 500 or problem.status == 503 else 502
    return render(
        request,
        "hr/problem.html",
        {"heading": gettext(heading), "message": gettext(message), "detail": problem.detail or problem.title},
        status_code=status,
    )


class HrRoute(APIRoute):
    """Turns a BackendProblem raised anywhere in a route (or its dependencies) into `problem_page`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except BackendProblem as problem:
                return problem_page(request, problem)

        return guarded


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def refused(request: Request, problem: BackendProblem, lead: str) -> None:
    """A refused action (409, 422) as an error flash message: our sentence and the service's."""
    text = translations(request).gettext(lead)
    flash(request, f"{text} {problem.detail or problem.title}", "error")


def said(request: Request, message: str) -> None:
    flash(request, translations(request).gettext(message))


async def refuse_or_raise(request: Request, problem: BackendProblem, lead: str, back: str) -> Response:
    """409 and 422 go back to the page with the reason; 403 and 404 become the problem page."""
    if problem.status in (409, 422, 413, 415):
        refused(request, problem, lead)
        return redirect(back)
    raise problem


async def act(
    request: Request,
    action: Awaitable[object],
    *,
    refused: str,
    done: str,
    back: str,
    then: str | None = None,
) -> Response:
    """One HR action from a form: on success the `done` message and a redirect to `then` (default
    `back`); a refusal (409, 422) goes back to `back` with `refused` and the service's reason; 403 and
    404 become the problem page."""
    try:
        await action
    except BackendProblem as problem:
        return await refuse_or_raise(request, problem, refused, back)
    said(request, done)
    return redirect(then or back)


def base_context() -> dict[str, Any]:
    return {
        "phase_labels": hr.PHASE_LABELS,
        "run_labels": hr.RUN_STATUS_LABELS,
        "format_labels": hr.FORMAT_LABELS,
        "enrolment_phases": hr.ENROLMENT_PHASES,
        "matching_phases": hr.MATCHING_PHASES,
        "name_of": hr.name_of,
    }
