"""The authorisation matrix: every operation of the four services' OpenAPI documents x every caller,
with the outcome the one region-scoping rule (README, "Security and access") requires. Written from the
rule, not from what the code does today; tests/e2e/test_authz_matrix.py runs it.

Callers
- hr_admin   an hr_admin token
- hr_in      hr_regional for APAC: the region of every record the matrix targets
- hr_out     hr_regional for AMER: no record the matrix targets is in its scope
- self       the participant the path's record belongs to / one of the pair (S unless noted; on a
             circle a member of C1: CM, or CF where only the facilitator acts)
- other      a participant of the same cohort who is not in that record (O, paired with someone else;
             on a circle CO, a member of the other circle C2)
- service    a service token (read-only, global)
- anon       no token

Outcomes (from the HTTP status): ALLOW = anything but 401/403/404/5xx (the request passed
authorisation: 2xx, 409, 422 count), DENY_403, HIDDEN_404, UNAUTH_401.

Readings chosen where the rule leaves room (each the one that best protects personal data):
- Role before record (rule 9 in its order): a caller whose role can never perform an operation gets
  403 whatever the record, e.g. hr_regional out of region on a participant-only action (a private
  note, accepting a proposal) gets 403, not 404: a 403 for the role says nothing about the record.
  A caller whose role could perform it but whose scope excludes the record gets 404 (hr_regional
  out of region on an HR action, a participant not in the record).
- Actions that need a side (a participant's own notes, agreement confirmation, goals, surveys,
  accepting/declining a proposal, requesting a partner, the /me inbox and preferences) are
  participant-only: HR, even hr_admin, gets 403 (HR has no side; rule 6).
- The delivery log (`/deliveries*`) and `/routing` are HR tools: participants get 403 even for
  entries addressed to them (they read their inbox and preferences instead).
- Matching-run review (pin, unpin, remove, swap, resolve, publish) is "running/publishing
  matching": a cohort-wide change (rule 4), so every region of the cohort must be in scope. The same
  for circle runs and their review (move, swap, remove a member, pin, unpin, resolve, publish).
- A circle is a shared record like a pair (rule 3): its members and HR who sees one of its members
  read it; a participant outside it gets 404. Answering its invitation and acting in it (the circle
  agreement, scheduling, rescheduling, cancelling) are a member's side (HR gets 403); picking the
  activity and recording a held or logged session are the facilitator's (another member gets 403).
  Dissolving one is an HR change of that record (as for a pair).
- Lists and aggregates are never 404 for a role that may call them: out-of-scope rows are omitted
  (hr_out gets 200 with none of the targets' rows; `test_out_of_scope_rows_are_omitted_and_partners_redacted` checks some).
- service may GET everything (like hr_admin) and nothing else, except the personal data of an export (`GET /privacy/exports/...`: 403), which only the privacy officer and global HR read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.authz_seed import (
    IN_REGION,
    OTHER_REGION,
    SECRET_WEBHOOK,
    Seed,
    agreement_body,
    circle_agreement_body,
    cohort_body,
    csv_of,
    future,
    unmatchable,
)
from tests.e2e.authz_seed import profile as _profile

ALLOW = "ALLOW"
DENY_403 = "DENY_403"
HIDDEN_404 = "HIDDEN_404"
UNAUTH_401 = "UNAUTH_401"

CALLERS = ("hr_admin", "hr_in", "hr_out", "self", "other", "service", "anon")
SERVICES = ("matching", "sessions", "notifications", "reporting")

# Stages: reads first, then writes that keep the targets alive, then the ones that consume them, and
# closing the target relationship (which cancels its sessions) at the very end.
READ, WRITE, LAST, FINAL = 0, 1, 2, 3
STAGES = (READ, WRITE, LAST, FINAL)

A, D, H = ALLOW, DENY_403, HIDDEN_404


def cells(hr_admin: str, hr_in: str, hr_out: str, self_: str, other: str, service: str) -> dict[str, str]:
    return {
        "hr_admin": hr_admin,
        "hr_in": hr_in,
        "hr_out": hr_out,
        "self": self_,
        "other": other,
        "service": service,
        "anon": UNAUTH_401,
    }


# The recurring rows of the rule.
HR_LIST = cells(A, A, A, D, D, A)  # an HR list or aggregate: filtered to the caller's scope
HR_READ = cells(A, A, H, D, D, A)  # an HR read of one scoped record (cohort, run, delivery, pair)
HR_WRITE = cells(A, A, H, D, D, D)  # an HR change of one scoped record (the targets' cohort is APAC only)
HR_CREATE = cells(A, A, D, D, D, D)  # create a cohort: all its regions in scope, else 403 (rule 4)
PERSON_READ = cells(A, A, H, A, H, A)  # a person's own data, or a shared record (rules 2, 3, 6)
PERSON_WRITE = cells(A, A, H, A, H, D)  # changed by HR in scope or the person themself
SIDE_WRITE = cells(D, D, D, A, H, D)  # a participant acting on their side of a shared record
ME = cells(D, D, D, A, A, D)  # /me: every participant has their own
MY_ITEM = cells(D, D, D, A, H, D)  # one of my /me items: another participant's is not found
EVERYONE = cells(A, A, A, A, A, A)  # a list every role may call, filtered to what each may see
PRIVACY_WRITE = cells(A, D, D, D, D, D)  # an erasure or export for someone: hr_admin (or privacy_officer)
PRIVACY_READ = cells(A, D, D, D, D, A)  # the erasure ledger's status (no personal data): service reads it


Fill = str  # a key of Seed.ids, "pid:<person>" (a participant id) or "=<literal>"
Body = Callable[[Seed], Any]  # Any: a JSON request body


@dataclass(frozen=True)
class Op:
    expect: Mapping[str, str]
    stage: int = READ
    path: Mapping[str, Fill] = field(default_factory=dict)
    body: Body | None = None
    csv: Callable[[Seed], bytes] | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    self_person: str = "S"
    other_person: str = "O"
    note: str = ""


# Path parameters filled the same way everywhere in one service unless an Op says otherwise.
DEFAULT_FILLS: dict[str, dict[str, Fill]] = {
    "matching": {
        "cohort_id": "cohort_id",
        "participant_id": "pid:S",
        "job_id": "job_id",
        "run_id": "run_id",
        "pair_id": "pair_id",
        "proposal_id": "proposal_id",
        "erasure_id": "erasure_id",
        "export_id": "export_id",
        "circle_id": "circle_id",
    },
    "sessions": {
        "relationship_id": "relationship_id",
        "session_id": "session_id",
        "version": "version",
        "goal_id": "goal_id",
        "kind": "=midpoint",
        "circle_id": "circle_id",
    },
    "notifications": {
        "cohort_id": "cohort_id",
        "participant_id": "pid:S",
        "delivery_id": "delivery_id",
        "item_id": "item_id",
    },
    "reporting": {"cohort_id": "cohort_id", "pair_id": "pair_id", "dataset": "=participants"},
}

# Documented routes the matrix does not test, with the reason. (Routes outside the OpenAPI
# documents, such as /metrics, /docs, /openapi.json, /asyncapi(.json), /dashboard and the
# e-mail preferences page and the one-click unsubscribe link, are not operations of the document and
# need no entry.)
SKIPPED: dict[str, dict[str, str]] = {
    svc: {
        "GET /healthz": "liveness probe: public by design, no data",
        "GET /readyz": "readiness probe: public by design, reports only dependency health",
    }
    for svc in SERVICES
}
NOT_IN_DOCUMENT = {
    "GET /metrics": "Prometheus scrape endpoint, outside the API document",
    "GET /openapi.json": "the schema itself",
    "GET /docs": "Swagger UI page",
    "GET /asyncapi": "AsyncAPI viewer page",
    "GET /asyncapi.json": "the event schema itself",
    "GET /dashboard": "reporting's static dashboard shell (calls the authenticated /reports API)",
}


def _enrol_body(s: Seed) -> dict[str, Any]:
    return _profile(s.emp["F1"], "mentor", IN_REGION, "Asia/Singapore", "Engineering")


def _patch_body(s: Seed) -> dict[str, Any]:
    return {"display_name": f"Authz {s.emp['S']}"}  # self-editable; the value it already has


def _held_body(_: Seed) -> dict[str, Any]:
    return {
        "actual_duration_minutes": 60,
        "topics": [{"topic": "prompting", "direction": "mentor_to_mentee"}],
    }


def _logged_body(_: Seed) -> dict[str, Any]:
    return {"starts_at": future(-1), **_held_body(_)}


def _survey(_: Seed) -> dict[str, Any]:
    return {"satisfaction": 4, "recommend_score": 9, "learned": "delegation", "taught": "prompting"}


def _defaults_body(_: Seed) -> dict[str, Any]:
    return {"digest": "immediate", "escalate_after_days": 7}


def _override_pair(s: Seed) -> dict[str, Any]:
    return {"mentor_id": s.pid["F1"], "mentee_id": s.pid["F2"], "reason": "authz matrix override"}


# Circles (issue 15): cohort C and its circle run; C1 the target circle, C2 the other one.
_C = {"cohort_id": "circle_cohort_id"}
_CR = {"run_id": "circle_run_id"}
_CS = {"session_id": "circle_session_id"}
_CV = {"version": "circle_version"}


def _c1(
    expect: Mapping[str, str],
    stage: int = READ,
    *,
    facilitator: bool = False,
    path: Mapping[str, Fill] | None = None,
    body: Body | None = None,
    note: str = "",
) -> Op:
    """An operation on circle C1 (or of its cohort C): self is CM, a member (CF, its facilitator, with
    `facilitator`); other is CO, a member of C2."""
    return Op(
        expect,
        stage,
        path=path or {},
        body=body,
        self_person="CF" if facilitator else "CM",
        other_person="CO",
        note=note,
    )


def _circle_held_body(s: Seed) -> dict[str, Any]:
    return {
        "attended_ids": [s.pid["CF"], s.pid["CM"]],
        "ideas": [{"participant_id": s.pid["CM"], "text": "a targeted social ad"}],
        "learning": [{"from_id": s.pid["CM"], "to_id": s.pid["CF"], "topic": "short-form video"}],
    }


def _circle_logged_body(s: Seed) -> dict[str, Any]:
    return {"starts_at": future(-1), **_circle_held_body(s)}


MATRIX: dict[str, dict[str, Op]] = {
    "matching": {
        "GET /cohorts": Op(HR_LIST),
        "POST /cohorts": Op(
            HR_CREATE, WRITE, body=lambda s: cohort_body("Authz created", [IN_REGION]), note="an APAC cohort"
        ),
        "GET /cohorts/{cohort_id}": Op(HR_READ),
        "POST /cohorts/{cohort_id}/phase": Op(
            HR_WRITE,
            LAST,
            body=lambda s: {"to_phase": "active"},
            note="matching -> active (the first allowed caller moves it; later ones get 409)",
        ),
        "GET /cohorts/{cohort_id}/policy": Op(HR_READ),
        "PUT /cohorts/{cohort_id}/policy": Op(HR_WRITE, WRITE, body=lambda s: {}, note="the default policy"),
        "POST /cohorts/{cohort_id}/participants": Op(
            HR_WRITE, WRITE, body=_enrol_body, note="re-enrols F1 as is (409 Enrolment closed is fine)"
        ),
        "GET /cohorts/{cohort_id}/participants": Op(HR_READ),
        "GET /cohorts/{cohort_id}/participants/{participant_id}": Op(PERSON_READ),
        "PATCH /cohorts/{cohort_id}/participants/{participant_id}": Op(PERSON_WRITE, WRITE, body=_patch_body),
        "POST /cohorts/{cohort_id}/participants/{participant_id}/withdraw": Op(
            PERSON_WRITE,
            LAST,
            path={"participant_id": "pid:F2"},
            body=lambda s: {"reason": "authz matrix"},
            self_person="F2",
            note="F2 (free, or in the override pair) leaves; self = F2",
        ),
        "GET /cohorts/{cohort_id}/participants/{participant_id}/proposals": Op(PERSON_READ),
        "GET /cohorts/{cohort_id}/participants/{participant_id}/suggestions": Op(PERSON_READ),
        "POST /cohorts/{cohort_id}/participants/{participant_id}/requests": Op(
            SIDE_WRITE,
            WRITE,
            body=lambda s: {"partner_id": s.pid["F2"]},
            note="S asks for F2 (S is at capacity: 409 is fine)",
        ),
        # The company directory (issue 19). The seed holds no directory entry: the one-person routes
        # name an id nobody has, so HR gets 404 and the role check comes first for the rest (the
        # region rule on real entries: tests/matching/test_directory_api.py).
        "GET /directory/people": Op(HR_LIST),
        "GET /directory/people/{person_id}": Op(
            cells(H, H, H, D, D, H), path={"person_id": "=00000000-0000-4000-8000-000000000019"}
        ),
        # HRIS delta files: company-wide (they name people of every region): hr_admin and service only.
        "GET /hris/files": Op(cells(A, D, D, D, D, A)),
        "GET /hris/files/{file_id}": Op(
            cells(H, D, D, D, D, H), path={"file_id": "=00000000-0000-4000-8000-000000000029"}
        ),
        "POST /cohorts/{cohort_id}/participants/from-directory": Op(
            cells(H, H, H, D, D, D),
            WRITE,
            body=lambda s: {
                "person_id": "00000000-0000-4000-8000-000000000019",
                "role": "mentee",
                "languages": ["en"],
            },
        ),
        "POST /cohorts/{cohort_id}/imports": Op(
            HR_WRITE,
            WRITE,
            csv=lambda s: csv_of([unmatchable(s.emp["X"])]),
            note="cohort-wide (rule 4); 409 outside enrolment is fine",
        ),
        "GET /imports/{job_id}": Op(HR_READ),
        "POST /cohorts/{cohort_id}/matching-runs": Op(HR_WRITE, LAST, note="cohort-wide; a new draft run"),
        "GET /cohorts/{cohort_id}/matching-runs": Op(HR_READ),
        "GET /matching-runs/{run_id}": Op(HR_READ),
        "POST /matching-runs/{run_id}/pairs/{pair_id}/pin": Op(
            HR_WRITE, WRITE, path={"pair_id": "draft_pair_id"}, note="published run: 409 is fine"
        ),
        "DELETE /matching-runs/{run_id}/pairs/{pair_id}/pin": Op(
            HR_WRITE, WRITE, path={"pair_id": "draft_pair_id"}, note="published run: 409 is fine"
        ),
        "DELETE /matching-runs/{run_id}/pairs/{pair_id}": Op(
            HR_WRITE, WRITE, path={"pair_id": "draft_pair_id"}, note="published run: 409 is fine"
        ),
        "POST /matching-runs/{run_id}/swap": Op(
            HR_WRITE,
            WRITE,
            body=lambda s: {"pair_a": s.ids["draft_pair_id"], "pair_b": s.ids["draft_pair2_id"]},
            note="published run: 409 is fine",
        ),
        "POST /matching-runs/{run_id}/resolve": Op(HR_WRITE, WRITE, note="published run: 409 is fine"),
        "POST /matching-runs/{run_id}/publish": Op(HR_WRITE, WRITE, note="already published: 409 is fine"),
        "GET /cohorts/{cohort_id}/proposals": Op(HR_READ),
        "GET /proposals/{proposal_id}": Op(PERSON_READ, note="a shared record: S is one of its people"),
        "POST /proposals/{proposal_id}/accept": Op(SIDE_WRITE, WRITE, note="already accepted: 409 is fine"),
        "POST /proposals/{proposal_id}/decline": Op(
            SIDE_WRITE, LAST, body=lambda s: {"reason": "authz"}, note="already accepted: 409 is fine"
        ),
        "GET /cohorts/{cohort_id}/pairs": Op(HR_READ),
        "GET /cohorts/{cohort_id}/pairs/{pair_id}": Op(HR_READ, note="P1, formed"),
        "POST /cohorts/{cohort_id}/pairs": Op(HR_WRITE, WRITE, body=_override_pair, note="pairs F1 with F2"),
        "POST /cohorts/{cohort_id}/pairs/{pair_id}/dissolve": Op(
            HR_WRITE,
            LAST,
            path={"pair_id": "pair2_id"},
            body=lambda s: {"reason": "authz matrix"},
            note="dissolves P2 (O's pair), not the target pair",
        ),
        "GET /cohorts/{cohort_id}/audit": Op(HR_READ),
        # Circles (issue 15). The run is published: every review edit's 409 is fine.
        "POST /cohorts/{cohort_id}/circle-runs": Op(
            HR_WRITE, LAST, path=_C, note="cohort-wide; a new draft (409 with too few free people is fine)"
        ),
        "GET /cohorts/{cohort_id}/circle-runs": Op(HR_READ, path=_C),
        "GET /circle-runs/{run_id}": Op(HR_READ, path=_CR),
        "POST /circle-runs/{run_id}/move": Op(
            HR_WRITE,
            WRITE,
            path=_CR,
            body=lambda s: {"participant_id": s.pid["CM"], "to_circle_id": s.ids["circle2_id"]},
            note="cohort-wide; published run: 409 is fine",
        ),
        "POST /circle-runs/{run_id}/swap": Op(
            HR_WRITE,
            WRITE,
            path=_CR,
            body=lambda s: {"participant_a": s.pid["CM"], "participant_b": s.pid["CO"]},
            note="cohort-wide; published run: 409 is fine",
        ),
        "DELETE /circle-runs/{run_id}/circles/{circle_id}/members/{participant_id}": Op(
            HR_WRITE,
            WRITE,
            path={**_CR, "participant_id": "pid:CM"},
            note="cohort-wide; published run: 409 is fine",
        ),
        "POST /circle-runs/{run_id}/circles/{circle_id}/pin": Op(
            HR_WRITE, WRITE, path=_CR, note="cohort-wide; published run: 409 is fine"
        ),
        "DELETE /circle-runs/{run_id}/circles/{circle_id}/pin": Op(
            HR_WRITE, WRITE, path=_CR, note="cohort-wide; published run: 409 is fine"
        ),
        "POST /circle-runs/{run_id}/resolve": Op(
            HR_WRITE, WRITE, path=_CR, note="cohort-wide; published run: 409 is fine"
        ),
        "POST /circle-runs/{run_id}/publish": Op(
            HR_WRITE, WRITE, path=_CR, note="cohort-wide; already published: 409 is fine"
        ),
        "GET /cohorts/{cohort_id}/circles": _c1(
            cells(A, A, H, A, A, A),
            path=_C,
            note="HR the circles with a member in scope; a participant of C their own (a cohort that is "
            "not visible is 404, as for pairs)",
        ),
        "GET /circles/{circle_id}": _c1(PERSON_READ, note="a shared record: CM is a member"),
        "POST /circles/{circle_id}/accept": _c1(
            SIDE_WRITE, WRITE, note="already accepted (formed): 409 is fine"
        ),
        "POST /circles/{circle_id}/decline": _c1(
            SIDE_WRITE,
            LAST,
            body=lambda s: {"reason": "authz"},
            note="formed: 409 is fine",
        ),
        "POST /circles/{circle_id}/dissolve": Op(
            HR_WRITE,
            LAST,
            path={"circle_id": "circle2_id"},
            body=lambda s: {"reason": "authz matrix"},
            note="dissolves C2, not the target circle",
        ),
        # Privacy: a person in every cohort, so a global act (hr_admin or privacy_officer, no regional HR).
        "POST /privacy/erasures": Op(
            PRIVACY_WRITE,
            WRITE,
            body=lambda s: {"employee_id": s.emp["Z"]},
            note="Z, erased while seeding: 200 with that erasure (idempotent)",
        ),
        "GET /privacy/erasures": Op(PRIVACY_READ),
        "GET /privacy/erasures/{erasure_id}": Op(PRIVACY_READ),
        "POST /privacy/exports": Op(PRIVACY_WRITE, WRITE, body=lambda s: {"employee_id": s.emp["S"]}),
        "GET /privacy/exports/{export_id}": Op(PRIVACY_WRITE, note="personal data: service may not read it"),
        "GET /privacy/exports/{export_id}/summary": Op(PRIVACY_WRITE, note="pending: 409 is fine"),
        "GET /me/enrolments": Op(ME),
        "POST /me/privacy/exports": Op(ME, WRITE),
        "GET /me/privacy/exports/{export_id}": Op(MY_ITEM, path={"export_id": "my_export_id"}),
        "GET /me/privacy/exports/{export_id}/summary": Op(
            MY_ITEM, path={"export_id": "my_export_id"}, note="pending: 409 is fine"
        ),
    },
    "sessions": {
        "GET /relationships": Op(EVERYONE),
        "GET /relationships/{relationship_id}": Op(PERSON_READ),
        "POST /relationships/{relationship_id}/close": Op(
            PERSON_WRITE,
            FINAL,
            body=lambda s: {"reason": "authz matrix"},
            note="either participant or HR in scope; the very last call",
        ),
        "GET /relationships/{relationship_id}/health": Op(PERSON_READ),
        "GET /relationships/{relationship_id}/agreement": Op(PERSON_READ),
        "POST /relationships/{relationship_id}/agreement": Op(
            SIDE_WRITE, WRITE, body=lambda s: agreement_body(), note="an amendment"
        ),
        "POST /relationships/{relationship_id}/agreement/versions/{version}/confirm": Op(
            SIDE_WRITE, WRITE, note="409 when nothing is pending is fine"
        ),
        "GET /relationships/{relationship_id}/sessions": Op(PERSON_READ),
        "POST /relationships/{relationship_id}/sessions": Op(
            SIDE_WRITE, WRITE, body=lambda s: {"starts_at": future(5), "duration_minutes": 45}
        ),
        "POST /relationships/{relationship_id}/sessions/log": Op(SIDE_WRITE, WRITE, body=_logged_body),
        "GET /relationships/{relationship_id}/sessions/{session_id}": Op(PERSON_READ),
        "GET /relationships/{relationship_id}/sessions/{session_id}/invite.ics": Op(PERSON_READ),
        "POST /relationships/{relationship_id}/sessions/{session_id}/reschedule": Op(
            SIDE_WRITE, WRITE, body=lambda s: {"starts_at": future(4)}
        ),
        "POST /relationships/{relationship_id}/sessions/{session_id}/cancel": Op(
            SIDE_WRITE, LAST, body=lambda s: {"reason": "authz"}
        ),
        "POST /relationships/{relationship_id}/sessions/{session_id}/held": Op(
            SIDE_WRITE, WRITE, body=_held_body, note="a future session: 409 is fine"
        ),
        "PUT /relationships/{relationship_id}/sessions/{session_id}/private-note": Op(
            SIDE_WRITE, WRITE, body=lambda s: {"body": "mine only"}
        ),
        "PUT /relationships/{relationship_id}/sessions/{session_id}/shared-notes": Op(
            SIDE_WRITE, WRITE, body=lambda s: {"body": "for both of us"}
        ),
        "POST /relationships/{relationship_id}/sessions/{session_id}/pulse": Op(
            SIDE_WRITE, WRITE, body=lambda s: {"rating": 4}, note="not held: 409 is fine"
        ),
        "GET /relationships/{relationship_id}/goals": Op(PERSON_READ),
        "GET /relationships/{relationship_id}/goals/{goal_id}": Op(PERSON_READ, note="S's goal"),
        "POST /relationships/{relationship_id}/goals": Op(
            SIDE_WRITE, WRITE, body=lambda s: {"title": "learn"}
        ),
        "POST /relationships/{relationship_id}/goals/{goal_id}/check-ins": Op(
            SIDE_WRITE, WRITE, body=lambda s: {"rating": 3}, note="S owns the goal"
        ),
        "POST /relationships/{relationship_id}/goals/{goal_id}/achieve": Op(
            SIDE_WRITE, LAST, body=lambda s: {"note": "done"}
        ),
        "POST /relationships/{relationship_id}/goals/{goal_id}/abandon": Op(
            SIDE_WRITE, LAST, body=lambda s: {"note": "dropped"}, note="after achieve: 409 is fine"
        ),
        "POST /relationships/{relationship_id}/surveys/{kind}": Op(
            SIDE_WRITE, WRITE, body=_survey, note="midpoint; 409 before it opens is fine"
        ),
        "GET /relationships/{relationship_id}/feedback": Op(PERSON_READ),
        # Circles (issue 15): C1, opened from matching's circle.formed.
        "GET /circles": Op(EVERYONE, note="filtered: HR by region, a participant their own circles"),
        "GET /circles/{circle_id}": _c1(PERSON_READ),
        "GET /circles/{circle_id}/health": _c1(PERSON_READ),
        "GET /circles/{circle_id}/agreement": _c1(PERSON_READ),
        "POST /circles/{circle_id}/agreement": _c1(
            SIDE_WRITE,
            WRITE,
            body=lambda s: circle_agreement_body(),
            note="any member drafts an amendment",
        ),
        "POST /circles/{circle_id}/agreement/versions/{version}/confirm": _c1(
            SIDE_WRITE, WRITE, path=_CV, note="version 1 is in force, not pending: 409 is fine"
        ),
        "GET /circles/{circle_id}/sessions": _c1(PERSON_READ),
        "GET /circles/{circle_id}/sessions/{session_id}": _c1(PERSON_READ, path=_CS),
        "GET /circles/{circle_id}/sessions/{session_id}/invite.ics": _c1(PERSON_READ, path=_CS),
        "POST /circles/{circle_id}/sessions": _c1(
            SIDE_WRITE,
            WRITE,
            body=lambda s: {"starts_at": future(5), "duration_minutes": 60},
            note="any member schedules",
        ),
        "POST /circles/{circle_id}/sessions/log": _c1(
            SIDE_WRITE, WRITE, body=_circle_logged_body, facilitator=True, note="the facilitator only"
        ),
        "PATCH /circles/{circle_id}/sessions/{session_id}": _c1(
            SIDE_WRITE,
            WRITE,
            path=_CS,
            body=lambda s: {"activity_id": s.ids["activity_id"]},
            facilitator=True,
            note="the facilitator picks the activity",
        ),
        "POST /circles/{circle_id}/sessions/{session_id}/reschedule": _c1(
            SIDE_WRITE, WRITE, path=_CS, body=lambda s: {"starts_at": future(4)}
        ),
        "POST /circles/{circle_id}/sessions/{session_id}/held": _c1(
            SIDE_WRITE,
            WRITE,
            path=_CS,
            body=_circle_held_body,
            facilitator=True,
            note="the facilitator only; a future session: 409 is fine",
        ),
        "POST /circles/{circle_id}/sessions/{session_id}/cancel": _c1(
            SIDE_WRITE, LAST, path=_CS, body=lambda s: {"reason": "authz"}
        ),
        "GET /activities": Op(EVERYONE, note="the activity library: no personal data"),
    },
    "notifications": {
        "GET /deliveries": Op(HR_LIST),
        "GET /deliveries/{delivery_id}": Op(HR_READ, note="S's kick-off e-mail: person data (rule 2)"),
        "GET /routing": Op(HR_LIST, note="no personal data: every HR role and service"),
        "GET /me/notifications": Op(ME),
        "GET /me/notifications/unread-count": Op(ME),
        "GET /me/notifications/{item_id}": Op(MY_ITEM, note="S's inbox item: another's is not found"),
        "POST /me/notifications/{item_id}/read": Op(MY_ITEM, WRITE, note="S's inbox item"),
        "POST /me/notifications/read-all": Op(ME, WRITE),
        "GET /me/preferences": Op(ME),
        "PUT /me/preferences": Op(
            ME,
            WRITE,
            body=lambda s: {
                "chat_webhook_url": SECRET_WEBHOOK,
                "chat_format": "slack",
                "channels": ["email"],
            },
            note="each participant sets their own (a secret: never returned)",
        ),
        "GET /preferences/{participant_id}": Op(PERSON_READ, note="S's preferences"),
        "GET /cohorts/{cohort_id}/notification-defaults": Op(HR_READ),
        "PUT /cohorts/{cohort_id}/notification-defaults": Op(
            HR_WRITE, WRITE, body=_defaults_body, note="cohort-wide (rule 4); service is read-only (rule 7)"
        ),
    },
    "reporting": {
        "GET /cohorts/{cohort_id}/summary": Op(HR_READ),
        "GET /reports/overview": Op(HR_LIST),
        "GET /reports/breakdown": Op(HR_LIST),
        "GET /reports/weekly": Op(HR_LIST),
        "GET /reports/at-risk-pairs": Op(HR_LIST),
        "GET /reports/flagged-pairs": Op(HR_LIST),
        "GET /reports/pairs/{pair_id}/timeline": Op(HR_READ, note="P1's timeline: a shared record"),
        "GET /reports/exports/{dataset}.csv": Op(HR_LIST),
        "GET /reports/exports/{dataset}.xlsx": Op(HR_LIST),
    },
}


@dataclass(frozen=True)
class Cell:
    """One extra cell outside the main grid: the mixed EMEA+APAC cohort M and its cross-region pair
    (ME in EMEA mentors MA in APAC); the cross-region circle of cohort CX (EMEA+APAC); a member of
    circle C1 who does not facilitate it. Callers here: hr_in = APAC, hr_out = AMER, hr_emea = EMEA,
    circle_member = CM. (The test labels every one "[cohort M: ...]"; `why` says when it is not M.)"""

    service: str
    operation: str
    caller: str
    expect: str
    path: Mapping[str, Fill] = field(default_factory=dict)
    body: Body | None = None
    csv: Callable[[Seed], bytes] | None = None
    why: str = ""


_M = {"cohort_id": "mixed_cohort_id"}


MIXED: list[Cell] = [
    Cell("matching", "GET /cohorts/{cohort_id}", "hr_in", A, _M, why="one of M's regions is in scope"),
    Cell("matching", "GET /cohorts/{cohort_id}", "hr_out", H, _M, why="none of M's regions is in scope"),
    Cell(
        "matching",
        "POST /cohorts",
        "hr_in",
        D,
        body=lambda s: cohort_body("Authz mixed", [OTHER_REGION, IN_REGION]),
        why="creating a cohort needs all its regions in scope",
    ),
    Cell("matching", "PUT /cohorts/{cohort_id}/policy", "hr_in", D, _M, body=lambda s: {}, why="cohort-wide"),
    Cell(
        "matching",
        "POST /cohorts/{cohort_id}/phase",
        "hr_in",
        D,
        _M,
        body=lambda s: {"to_phase": "active"},
        why="cohort-wide",
    ),
    Cell("matching", "POST /cohorts/{cohort_id}/matching-runs", "hr_in", D, _M, why="cohort-wide"),
    Cell(
        "matching",
        "POST /cohorts/{cohort_id}/imports",
        "hr_in",
        D,
        _M,
        csv=lambda s: csv_of([unmatchable(s.emp["X"])]),
        why="cohort-wide",
    ),
    Cell(
        "matching",
        "GET /cohorts/{cohort_id}/participants/{participant_id}",
        "hr_in",
        H,
        {**_M, "participant_id": "pid:ME"},
        why="ME's home region (EMEA) is not in scope",
    ),
    Cell(
        "matching",
        "PATCH /cohorts/{cohort_id}/participants/{participant_id}",
        "hr_in",
        H,
        {**_M, "participant_id": "pid:ME"},
        body=lambda s: {"display_name": f"Authz {s.emp['ME']}"},
        why="a person out of scope is never editable",
    ),
    Cell(
        "matching",
        "POST /cohorts/{cohort_id}/participants/{participant_id}/withdraw",
        "hr_in",
        H,
        {**_M, "participant_id": "pid:ME"},
        body=lambda s: {"reason": "authz"},
        why="a person out of scope is never editable",
    ),
    Cell(
        "matching",
        "GET /cohorts/{cohort_id}/participants/{participant_id}",
        "hr_in",
        A,
        {**_M, "participant_id": "pid:MA"},
        why="MA's home region (APAC) is in scope",
    ),
    Cell(
        "matching",
        "GET /cohorts/{cohort_id}/participants/{participant_id}",
        "hr_emea",
        A,
        {**_M, "participant_id": "pid:ME"},
        why="ME's home region (EMEA) is in scope",
    ),
    Cell("matching", "GET /cohorts/{cohort_id}/pairs", "hr_in", A, _M, why="M is visible"),
    Cell(
        "sessions",
        "GET /relationships/{relationship_id}",
        "hr_in",
        A,
        {"relationship_id": "mixed_relationship_id"},
        why="one of the pair (MA) is in scope",
    ),
    Cell(
        "sessions",
        "GET /relationships/{relationship_id}",
        "hr_emea",
        A,
        {"relationship_id": "mixed_relationship_id"},
        why="one of the pair (ME) is in scope",
    ),
    Cell(
        "sessions",
        "GET /relationships/{relationship_id}",
        "hr_out",
        H,
        {"relationship_id": "mixed_relationship_id"},
        why="neither of the pair is in scope",
    ),
    Cell(
        "notifications",
        "GET /preferences/{participant_id}",
        "hr_in",
        H,
        {"participant_id": "pid:ME"},
        why="ME's home region is not in scope",
    ),
    Cell(
        "notifications",
        "GET /preferences/{participant_id}",
        "hr_emea",
        A,
        {"participant_id": "pid:ME"},
        why="ME's home region is in scope",
    ),
    Cell(
        "notifications",
        "GET /deliveries/{delivery_id}",
        "hr_in",
        H,
        {"delivery_id": "mixed_delivery_id"},
        why="addressed to ME, who is not in scope",
    ),
    Cell(
        "notifications",
        "GET /cohorts/{cohort_id}/notification-defaults",
        "hr_in",
        A,
        _M,
        why="M is visible",
    ),
    Cell(
        "notifications",
        "PUT /cohorts/{cohort_id}/notification-defaults",
        "hr_in",
        D,
        _M,
        body=_defaults_body,
        why="cohort-wide: EMEA is not in scope",
    ),
    Cell(
        "notifications",
        "PUT /cohorts/{cohort_id}/notification-defaults",
        "service",
        D,
        _M,
        body=_defaults_body,
        why="service is read-only",
    ),
    Cell("reporting", "GET /cohorts/{cohort_id}/summary", "hr_in", A, _M, why="M is visible"),
    Cell("reporting", "GET /cohorts/{cohort_id}/summary", "hr_out", H, _M, why="M is not visible"),
    Cell(
        "reporting",
        "GET /reports/pairs/{pair_id}/timeline",
        "hr_in",
        A,
        {"pair_id": "mixed_pair_id"},
        why="a cross-region pair counts in each of its regions",
    ),
    Cell(
        "reporting",
        "GET /reports/pairs/{pair_id}/timeline",
        "hr_emea",
        A,
        {"pair_id": "mixed_pair_id"},
        why="a cross-region pair counts in each of its regions",
    ),
]


_C1S = {"session_id": "circle_session_id"}
_CX = {"circle_id": "mixed_circle_id"}
_CXC = {"cohort_id": "mixed_circle_cohort_id"}
_NOT_M = "(circle C1, not M)"
_CROSS = "(circle cohort CX, not M)"
MIXED += [
    Cell("matching", "GET /circles/{circle_id}", "hr_in", A, _CX, why=f"{_CROSS} two members are APAC"),
    Cell("matching", "GET /circles/{circle_id}", "hr_emea", A, _CX, why=f"{_CROSS} one member is EMEA"),
    Cell("matching", "GET /circles/{circle_id}", "hr_out", H, _CX, why=f"{_CROSS} no member is AMER"),
    Cell(
        "matching", "GET /cohorts/{cohort_id}/circles", "hr_emea", A, _CXC, why=f"{_CROSS} one of its regions"
    ),
    Cell("matching", "GET /cohorts/{cohort_id}/circles", "hr_out", H, _CXC, why=f"{_CROSS} not visible"),
    Cell(
        "matching",
        "POST /cohorts/{cohort_id}/circle-runs",
        "hr_in",
        D,
        _CXC,
        why=f"{_CROSS} cohort-wide: EMEA is not in scope",
    ),
    Cell("sessions", "GET /circles/{circle_id}", "hr_in", A, _CX, why=f"{_CROSS} two members are APAC"),
    Cell("sessions", "GET /circles/{circle_id}", "hr_emea", A, _CX, why=f"{_CROSS} one member is EMEA"),
    Cell("sessions", "GET /circles/{circle_id}", "hr_out", H, _CX, why=f"{_CROSS} no member is AMER"),
    Cell(
        "sessions",
        "GET /circles/{circle_id}/health",
        "hr_out",
        H,
        _CX,
        why=f"{_CROSS} no member is AMER",
    ),
    Cell(
        "sessions",
        "PATCH /circles/{circle_id}/sessions/{session_id}",
        "circle_member",
        D,
        _C1S,
        body=lambda s: {"activity_id": s.ids["activity_id"]},
        why=f"{_NOT_M} a member who does not facilitate it",
    ),
    Cell(
        "sessions",
        "POST /circles/{circle_id}/sessions/{session_id}/held",
        "circle_member",
        D,
        _C1S,
        body=_circle_held_body,
        why=f"{_NOT_M} a member who does not facilitate it",
    ),
    Cell(
        "sessions",
        "POST /circles/{circle_id}/sessions/log",
        "circle_member",
        D,
        body=_circle_logged_body,
        why=f"{_NOT_M} a member who does not facilitate it",
    ),
]


def fill(s: Seed, value: Fill) -> str:
    if value.startswith("="):
        return value[1:]
    if value.startswith("pid:"):
        return s.pid[value[4:]]
    return s.ids[value]
