"""The registry of problem types: every `type` a Bridge service puts in a problem+json answer.

Each entry is one page, served by every service at `/problems/<slug>` (and listed at `/problems`), so
a problem's `type` URI resolves wherever the service runs: the handlers make it absolute against the
service's public base URL (`BRIDGE_<SVC>_PUBLIC_BASE_URL`) or, when none is set, the request's own.

A `Problem("Widget not found")` has the slug `widget-not-found` (`bridge_shared.errors.slug_of`).
A new kind of problem needs an entry here: tests/shared/test_problem_pages.py scans every
`Problem(...)` in the services and fails for a title without one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int
    meaning: str
    what_to_do: str


def _t(slug: str, title: str, status: int, meaning: str, what_to_do: str) -> ProblemType:
    return ProblemType(slug, title, status, meaning, what_to_do)


_ASK_HR = "If you think you should see it, ask HR to check the cohort's regions and your role."
_REFRESH = (
    "Fetch the resource again to see its current state, then decide whether the change still makes sense."
)

PROBLEM_TYPES: dict[str, ProblemType] = {
    p.slug: p
    for p in (
        # Plain HTTP errors (any route, including unknown ones).
        _t(
            "bad-request",
            "Bad Request",
            400,
            "The request could not be read, e.g. its body is not valid JSON or not valid UTF-8.",
            "Check the body against the operation in the service's API documentation (/docs).",
        ),
        _t(
            "client-disconnected",
            "Client disconnected",
            400,
            "The connection closed before the whole request body arrived.",
            "Send the request again; check proxies or time-outs between you and the service.",
        ),
        _t(
            "not-found",
            "Not found",
            404,
            "Nothing is at this address: the path names no route of this service, or the record it "
            "names does not exist or is outside what your token may see.",
            "Check the path against the service's API documentation (/docs) and the ids you used.",
        ),
        _t(
            "method-not-allowed",
            "Method Not Allowed",
            405,
            "The path exists but does not accept this HTTP method. The Allow header lists the ones it does.",
            "Use one of the methods in the Allow header, as the API documentation (/docs) describes.",
        ),
        _t(
            "internal-server-error",
            "Internal Server Error",
            500,
            "The service failed unexpectedly while handling the request. Nothing more is disclosed; "
            "the service logged the error with the request's trace id.",
            "Retry later. If it persists, report the time and path to the platform team.",
        ),
        # Authentication and authorisation.
        _t(
            "authentication-required",
            "Authentication required",
            401,
            "The request carries no bearer token (an `Authorization: Bearer <JWT>` header).",
            "Sign in and send the token you receive in the Authorization header.",
        ),
        _t(
            "invalid-token",
            "Invalid token",
            401,
            "The bearer token was refused. The detail says why: it is not a well-formed JWT, its "
            "signature does not verify, it has expired, its issuer or audience is not accepted, or a "
            "claim (roles, regions, sub) is missing or malformed.",
            "Get a fresh token from the identity provider (or `make token` locally) and send it unchanged.",
        ),
        _t(
            "metrics-token",
            "Authentication required",
            401,
            "The metrics endpoint needs the metrics token configured for this service.",
            "Send `Authorization: Bearer <metrics token>` (BRIDGE_<SVC>_METRICS_TOKEN).",
        ),
        _t(
            "forbidden",
            "Forbidden",
            403,
            "Your token is valid but its role or regions do not allow this action.",
            "The detail names the missing role or regions; ask HR for access if you need it.",
        ),
        _t(
            "identity-provider-unavailable",
            "Identity provider unavailable",
            503,
            "The service could not fetch the identity provider's signing keys to verify your token.",
            "Retry after the number of seconds in the Retry-After header.",
        ),
        # Request shape and size.
        _t(
            "invalid-request",
            "Invalid request",
            422,
            "A parameter or body field is invalid; the `errors` member names each field and why.",
            "Correct the fields listed in `errors` and send the request again.",
        ),
        _t(
            "invalid-date-range",
            "Invalid date range",
            422,
            "The report's date range is empty or reversed.",
            "Send a `from` date before the `to` date.",
        ),
        _t(
            "invalid-start-time",
            "Invalid start time",
            422,
            "A session's start time is missing its time zone or is otherwise unusable.",
            "Send an ISO 8601 date-time with an offset, e.g. 2026-03-01T09:00:00+01:00.",
        ),
        _t(
            "body-too-large",
            "Request body too large",
            413,
            "The request body is over the service's limit (the `limit` member, in bytes).",
            "Send a smaller body; split a large import into several files.",
        ),
        _t(
            "file-too-large",
            "File too large",
            413,
            "The uploaded file is over the import limit.",
            "Split the file and import the parts one after the other.",
        ),
        _t(
            "event-too-large",
            "Event too large",
            413,
            "The change would publish an event larger than the broker accepts; nothing was stored.",
            "Make the field named in `field` shorter and send the change again.",
        ),
        _t(
            "unsupported-encoding",
            "Unsupported encoding",
            415,
            "The uploaded file is not in an encoding the import understands.",
            "Save the CSV as UTF-8 and upload it again.",
        ),
        _t(
            "headers-too-large",
            "Request headers too large",
            431,
            "The request's headers, or its Authorization header alone, are over the service's limit.",
            "Send fewer or shorter headers; a token this large is not one Bridge issues.",
        ),
        # Records that do not exist or are out of the caller's scope (always 404, never 403).
        *(
            _t(
                f"{slug}-not-found",
                f"{name} not found",
                404,
                f"No {name.lower()} with this id exists, or it is outside what your token may see.",
                f"Check the id; list the {name.lower()}s you can see to find the right one. {_ASK_HR}",
            )
            for slug, name in (
                ("cohort", "Cohort"),
                ("participant", "Participant"),
                ("partner", "Partner"),
                ("pair", "Pair"),
                ("draft-pair", "Draft pair"),
                ("proposal", "Proposal"),
                ("matching-run", "Matching run"),
                ("import", "Import"),
                ("relationship", "Relationship"),
                ("circle", "Circle"),
                ("circle-run", "Circle run"),
                ("draft-circle", "Draft circle"),
                ("session", "Session"),
                ("goal", "Goal"),
                ("agreement-version", "Agreement version"),
                ("person", "Person"),
                ("erasure", "Erasure"),
                ("export", "Export"),
            )
        ),
        # State conflicts (409).
        _t(
            "person-erased",
            "Person erased",
            409,
            "This person was erased on request (GDPR Art. 17): Bridge keeps only a keyed hash of their "
            "employee id, so that they are not enrolled again by mistake.",
            "Do not enrol them again. If they want to take part again, ask your data protection officer.",
        ),
        _t(
            "person-left",
            "Person left",
            409,
            "The company directory (the identity provider or the HRIS) says this person has left the "
            "company: deactivated, deleted, or past their termination date (`left_cause`).",
            "Do not enrol them. If they are still with the company, have their directory entry corrected "
            "at the source; they can be enrolled once it says they are active.",
        ),
        _t(
            "erasure-in-progress",
            "Erasure in progress",
            409,
            "Another request is erasing this person at this very moment.",
            "Ask again in a moment: you get that erasure (200) with its status.",
        ),
        _t(
            "export-not-complete",
            "Export not complete",
            409,
            "Not every service has sent its part of this data export yet; `answered` lists those that have.",
            "Ask again later; the JSON export shows `status: pending` until it is complete.",
        ),
        _t(
            "illegal-phase-transition",
            "Illegal phase transition",
            409,
            "A cohort moves through its phases in order; this move is not one of the allowed next steps.",
            "Read the cohort's `phase` and move it to an allowed next phase.",
        ),
        _t(
            "matching-not-open",
            "Matching not open",
            409,
            "The cohort is not in its matching phase (`current_phase` says where it is).",
            "Move the cohort to matching first, or wait for HR to do so.",
        ),
        _t(
            "enrolment-closed",
            "Enrolment closed",
            409,
            "The cohort no longer accepts enrolments or imports (`current_phase` says where it is).",
            "Enrol people while the cohort is in draft or enrolment, or start a new cohort.",
        ),
        _t(
            "policy-is-frozen",
            "Policy is frozen",
            409,
            "The matching policy cannot change once matching has started.",
            "Change the policy before matching, or use it as it is.",
        ),
        _t(
            "profile-frozen",
            "Profile frozen",
            409,
            "Profiles cannot change in the cohort's current phase.",
            "Change the profile while the cohort is enrolling.",
        ),
        _t(
            "overrides-not-allowed",
            "Overrides not allowed",
            409,
            "HR can form pairs by hand only in the phases that allow overrides.",
            "Wait for the cohort to reach matching or active, or run matching instead.",
        ),
        _t(
            "a-matching-run-is-already-active",
            "A matching run is already active",
            409,
            "The cohort already has a draft matching run; only one can be open at a time.",
            "Publish or discard the open run before starting another.",
        ),
        _t(
            "run-is-not-a-draft",
            "Run is not a draft",
            409,
            "The matching run has been published or discarded; it can no longer be edited.",
            "Start a new matching run if the pairs need to change.",
        ),
        _t(
            "not-enough-participants",
            "Not enough participants",
            409,
            "Matching needs at least one mentor and one mentee who are free.",
            "Enrol more participants, then run matching again.",
        ),
        _t(
            "draft-is-stale",
            "Draft is stale",
            409,
            "Participants changed since the draft was computed, so it no longer fits the cohort.",
            "Start a new matching run.",
        ),
        _t(
            "swap-breaks-hard-constraints",
            "Swap breaks hard constraints",
            409,
            "Swapping these partners would pair people the policy forbids pairing "
            "(the detail says which rule).",
            "Choose other pairs to swap, or form the pair by hand with a reason (an audited override).",
        ),
        _t(
            "participant-withdrawn",
            "Participant withdrawn",
            409,
            "The participant has left the cohort; nothing more can change for them.",
            "Nothing to do for this person; enrol them again in a later cohort if they return.",
        ),
        _t(
            "participant-not-free",
            "Participant not free",
            409,
            "The participant already has as many partners as their capacity allows.",
            "Dissolve one of their pairs first, or choose someone else.",
        ),
        _t(
            "pair-not-possible",
            "Pair not possible",
            409,
            "The requested partner cannot be paired with this participant (same side, same team, "
            "paired before, or not free).",
            "Ask for another partner; see the participant's suggestions.",
        ),
        _t(
            "pair-not-active",
            "Pair not active",
            409,
            "The pair has already been dissolved.",
            _REFRESH,
        ),
        _t("proposal-expired", "Proposal expired", 409, "The proposal's deadline has passed.", _REFRESH),
        _t(
            "proposal-closed",
            "Proposal closed",
            409,
            "The proposal was already accepted, declined or withdrawn.",
            _REFRESH,
        ),
        _t(
            "already-answered",
            "Already answered",
            409,
            "You have already accepted or declined this proposal.",
            _REFRESH,
        ),
        _t(
            "relationship-closed",
            "Relationship closed",
            409,
            "The mentoring relationship has ended; it takes no more sessions, goals or notes.",
            "Nothing to do; the relationship's history stays readable.",
        ),
        _t(
            "circle-closed",
            "Circle closed",
            409,
            "The mentoring circle has ended; it takes no more sessions or agreement changes.",
            "Nothing to do; the circle's history stays readable.",
        ),
        # Forming mentoring circles (matching).
        _t(
            "pairs-not-offered",
            "Pairs not offered",
            409,
            "The cohort runs mentoring circles only (`formats` says what it runs): no pair matching runs.",
            "Form circles with POST /cohorts/{id}/circle-runs, or create a cohort whose formats include "
            "pairs.",
        ),
        _t(
            "circles-not-offered",
            "Circles not offered",
            409,
            "The cohort's formats do not include mentoring circles (`formats` says what it runs).",
            "Run circles in a cohort created with circles among its formats.",
        ),
        _t(
            "already-in-that-circle",
            "Already in that circle",
            409,
            "The participant is already a member of the circle the edit names.",
            _REFRESH,
        ),
        _t(
            "edit-breaks-hard-constraints",
            "Edit breaks hard constraints",
            409,
            "The review edit would break a hard rule for circles (`violations`: circle id -> the rules "
            "it would break: size, juniors, seniors, language, slot, management, blocked, facilitator).",
            "Choose another edit, or send force=true to make it anyway: the circle then shows its "
            "violations, and the audit log records them.",
        ),
        _t(
            "draft-changed-meanwhile",
            "Draft changed meanwhile",
            409,
            "The circle draft was edited, published or superseded while it was being re-solved.",
            "Read the draft again, then re-solve it if it still needs it.",
        ),
        _t(
            "circle-without-facilitator",
            "Circle without facilitator",
            409,
            "Some circles of the draft have nobody who may facilitate them (`circle_ids`).",
            "Pin each of them with a facilitator (any member HR names), or mark members "
            "facilitator-eligible and re-solve.",
        ),
        _t(
            "nothing-to-publish",
            "Nothing to publish",
            409,
            "The draft has no circles.",
            "Enrol more participants or relax the circle policy, then start a new run.",
        ),
        _t(
            "circle-not-open",
            "Circle not open",
            409,
            "The circle no longer waits for answers: it was formed or dissolved, or you are no longer "
            "invited to it (`circle_status`, `member_status`).",
            _REFRESH,
        ),
        _t(
            "invitation-expired",
            "Invitation expired",
            409,
            "The invitation to the circle was not answered before its deadline.",
            "Ask HR whether another circle has a place.",
        ),
        _t(
            "session-not-scheduled",
            "Session not scheduled",
            409,
            "Only a scheduled session can be rescheduled, cancelled or marked held.",
            _REFRESH,
        ),
        _t(
            "session-not-held",
            "Session not held",
            409,
            "Feedback is given for a session that took place; this one has not been marked held.",
            "Mark the session held first.",
        ),
        _t(
            "session-not-yet-held",
            "Session not yet held",
            409,
            "The session's start time has not come yet, so it cannot be marked held.",
            "Mark it held after it has taken place.",
        ),
        _t(
            "start-time-in-the-past",
            "Start time in the past",
            422,
            "A session can only be scheduled or moved to a time that is still to come.",
            "Choose a later time; to record a session that already happened, log it "
            "(POST /relationships/{id}/sessions/log).",
        ),
        _t(
            "start-time-in-the-future",
            "Start time in the future",
            422,
            "Only a session that already happened can be logged.",
            "Schedule it instead (POST /relationships/{id}/sessions).",
        ),
        _t(
            "no-calendar-invite",
            "No calendar invite",
            404,
            "This session was logged after it happened: it was never scheduled and has no invite.",
            "Nothing to do: there is no calendar event to add.",
        ),
        _t(
            "end-date-in-the-past",
            "End date in the past",
            422,
            "An agreement's end date must come after today in both people's time zones.",
            "Choose a later end date.",
        ),
        _t(
            "end-date-has-passed",
            "End date has passed",
            409,
            "The pending version's end date is no longer in the future, so it cannot take effect.",
            "Draft the agreement again with a later end date, then confirm it.",
        ),
        _t(
            "unknown-unsubscribe-link",
            "Unknown unsubscribe link",
            404,
            "The unsubscribe link is not valid: it was altered, or the person it was made for was erased.",
            "Change your e-mail settings in your Bridge preferences instead.",
        ),
        _t(
            "goal-closed",
            "Goal closed",
            409,
            "The goal was achieved or abandoned; it takes no more check-ins.",
            "Set a new goal if there is more to work on.",
        ),
        _t(
            "not-awaiting-confirmation",
            "Not awaiting confirmation",
            409,
            "This agreement version is not the one waiting for your confirmation (a newer one exists "
            "or it is already confirmed).",
            _REFRESH,
        ),
        _t(
            "survey-not-open",
            "Survey not open",
            409,
            "This survey is not open for the relationship at this point.",
            "Answer it when it opens; the notification you receive links to it.",
        ),
        _t(
            "already-submitted",
            "Already submitted",
            409,
            "You have already answered this survey.",
            "Nothing to do: each survey takes one answer per person.",
        ),
    )
}

PROBLEMS_PATH = "/problems"


def type_path(slug: str) -> str:
    """The same-origin path of a problem type's page."""
    return f"{PROBLEMS_PATH}/{slug}"
