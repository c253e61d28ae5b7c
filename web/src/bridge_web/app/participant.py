"""Use cases of the participant pages: what to read from (and write to) the four services, with the
signed-in person's own token. Their enrolments come from matching's `GET /me/enrolments`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge_web.app.backend import Backend, BackendProblem
from bridge_web.domain import participant as d

JSON = dict[str, Any]  # Any: a service's JSON object, as its OpenAPI documents it


async def _or_none(call: Any) -> Any:
    """The answer, or None when the service says the thing is not there (or not the caller's)."""
    try:
        return await call
    except BackendProblem as problem:
        if problem.status in (403, 404, 409):
            return None
        raise


# -- who am I ---------------------------------------------------------------------------------------


async def inbox(backend: Backend, *, unread_only: bool = False, limit: int = 100) -> list[JSON]:
    params: dict[str, Any] = {"limit": limit}
    if unread_only:
        params["unread_only"] = "true"
    items: list[JSON] = await backend.get("notifications", "/me/notifications", params=params)
    return items


async def enrolments(backend: Backend) -> list[JSON]:
    """The caller's own enrolments in every cohort, newest first: {cohort_id, cohort_name,
    cohort_phase, formats, programme_start, programme_end, participant} (matching's /me/enrolments)."""
    found: list[JSON] = await backend.get("matching", "/me/enrolments")
    return found


async def proposal_side_for(
    backend: Backend, proposal: JSON, subject: str
) -> tuple[d.Side | None, JSON | None]:
    """Which of the proposal's two people the caller (employee id `subject`) is, with their profile;
    (None, None) for HR or anyone else. A participant reads only their own profile, so the one that
    answers with their employee id is theirs."""
    cid = proposal["cohort_id"]
    for side in d.SIDES:
        profile = await _or_none(
            backend.get("matching", f"/cohorts/{cid}/participants/{proposal[f'{side}_id']}")
        )
        if profile is not None and str(profile.get("employee_id", "")).casefold() == subject.casefold():
            return side, profile
    return None, None


# -- profile ----------------------------------------------------------------------------------------


@dataclass
class Overview:
    """The /me page: each enrolment's profile with its proposals, and the relationships and circles."""

    profiles: list[JSON] = field(default_factory=list)
    proposals: dict[str, list[JSON]] = field(default_factory=dict)
    relationships: list[JSON] = field(default_factory=list)
    circles: list[JSON] = field(default_factory=list)
    preferences: JSON | None = None


async def overview(backend: Backend) -> Overview:
    out = Overview()
    out.relationships = await relationships(backend)
    out.circles = await my_circles(backend)
    for e in await enrolments(backend):
        profile: JSON = {**e["participant"], "cohort_name": e["cohort_name"]}
        out.profiles.append(profile)
        out.proposals[str(profile["id"])] = (
            await _or_none(
                backend.get("matching", f"/cohorts/{e['cohort_id']}/participants/{profile['id']}/proposals")
            )
            or []
        )
    out.preferences = await _or_none(backend.get("notifications", "/me/preferences"))
    return out


async def profile(backend: Backend, cohort_id: str, participant_id: str) -> JSON:
    found: JSON = await backend.get("matching", f"/cohorts/{cohort_id}/participants/{participant_id}")
    return found


async def update_profile(backend: Backend, cohort_id: str, participant_id: str, changes: JSON) -> JSON:
    saved: JSON = await backend.patch(
        "matching", f"/cohorts/{cohort_id}/participants/{participant_id}", json=changes
    )
    return saved


# -- proposals --------------------------------------------------------------------------------------


async def proposal(backend: Backend, proposal_id: str) -> JSON:
    found: JSON = await backend.get("matching", f"/proposals/{proposal_id}")
    return found


async def respond(backend: Backend, proposal_id: str, response: d.Response, reason: str | None) -> JSON:
    if response == "accept":
        done: JSON = await backend.post("matching", f"/proposals/{proposal_id}/accept")
    else:
        done = await backend.post("matching", f"/proposals/{proposal_id}/decline", json={"reason": reason})
    return done


# -- relationships ----------------------------------------------------------------------------------


async def relationships(backend: Backend) -> list[JSON]:
    rels: list[JSON] = await _or_none(backend.get("sessions", "/relationships")) or []
    return rels


async def relationship_for_pair(backend: Backend, pair_id: str) -> JSON | None:
    return next((r for r in await relationships(backend) if str(r.get("pair_id")) == pair_id), None)


@dataclass
class RelationshipPage:
    rel: JSON
    agreement: JSON
    sessions: d.SessionLists
    goals: list[JSON]
    health: JSON | None
    feedback: list[JSON]


async def relationship_page(backend: Backend, rid: str, now: datetime | None = None) -> RelationshipPage:
    base = f"/relationships/{rid}"
    rel = await backend.get("sessions", base)
    agreement, sessions, goals, health, feedback = await asyncio.gather(
        backend.get("sessions", f"{base}/agreement"),
        backend.get("sessions", f"{base}/sessions"),
        backend.get("sessions", f"{base}/goals"),
        _or_none(backend.get("sessions", f"{base}/health")),
        _or_none(backend.get("sessions", f"{base}/feedback")),
    )
    return RelationshipPage(
        rel, agreement, d.split_sessions(sessions, now or datetime.now(UTC)), goals, health, feedback or []
    )


async def relationship(backend: Backend, rid: str) -> JSON:
    rel: JSON = await backend.get("sessions", f"/relationships/{rid}")
    return rel


async def agreement(backend: Backend, rid: str) -> JSON:
    view: JSON = await backend.get("sessions", f"/relationships/{rid}/agreement")
    return view


async def draft_agreement(backend: Backend, rid: str, body: JSON) -> JSON:
    version: JSON = await backend.post("sessions", f"/relationships/{rid}/agreement", json=body)
    return version


async def confirm_agreement(backend: Backend, rid: str, version: int) -> JSON:
    done: JSON = await backend.post("sessions", f"/relationships/{rid}/agreement/versions/{version}/confirm")
    return done


async def session(backend: Backend, rid: str, sid: str) -> JSON:
    found: JSON = await backend.get("sessions", f"/relationships/{rid}/sessions/{sid}")
    return found


async def session_action(backend: Backend, rid: str, path: str, body: JSON) -> JSON:
    """POST one of the session routes (`""`, `/log`, `/<sid>/reschedule|cancel|held|pulse`)."""
    done: JSON = await backend.post("sessions", f"/relationships/{rid}/sessions{path}", json=body)
    return done


async def goals(backend: Backend, rid: str) -> list[JSON]:
    found: list[JSON] = await backend.get("sessions", f"/relationships/{rid}/goals")
    return found


async def goal_action(backend: Backend, rid: str, path: str, body: JSON) -> JSON:
    done: JSON = await backend.post("sessions", f"/relationships/{rid}/goals{path}", json=body)
    return done


async def feedback(backend: Backend, rid: str) -> list[JSON]:
    found: list[JSON] = await _or_none(backend.get("sessions", f"/relationships/{rid}/feedback")) or []
    return found


async def submit_survey(backend: Backend, rid: str, kind: str, body: JSON) -> JSON:
    done: JSON = await backend.post("sessions", f"/relationships/{rid}/surveys/{kind}", json=body)
    return done


# -- circles ----------------------------------------------------------------------------------------


async def my_circles(backend: Backend) -> list[JSON]:
    found: list[JSON] = await _or_none(backend.get("sessions", "/circles")) or []
    return found


async def circle_invitation(backend: Backend, circle_id: str) -> JSON:
    """matching's circle (the invitation: members, slot, explanation, each member's answer)."""
    found: JSON = await backend.get("matching", f"/circles/{circle_id}")
    return found


async def answer_circle(backend: Backend, circle_id: str, response: d.Response, reason: str | None) -> JSON:
    if response == "accept":
        done: JSON = await backend.post("matching", f"/circles/{circle_id}/accept")
    else:
        done = await backend.post("matching", f"/circles/{circle_id}/decline", json={"reason": reason})
    return done


async def circle(backend: Backend, circle_id: str) -> JSON | None:
    """sessions' circle (once formed); None before it is formed."""
    found: JSON | None = await _or_none(backend.get("sessions", f"/circles/{circle_id}"))
    return found


async def circle_sessions(backend: Backend, circle_id: str) -> list[JSON]:
    found: list[JSON] = await _or_none(backend.get("sessions", f"/circles/{circle_id}/sessions")) or []
    return found


async def circle_session(backend: Backend, circle_id: str, sid: str) -> JSON:
    found: JSON = await backend.get("sessions", f"/circles/{circle_id}/sessions/{sid}")
    return found


async def circle_agreement(backend: Backend, circle_id: str) -> JSON:
    found: JSON = await backend.get("sessions", f"/circles/{circle_id}/agreement")
    return found


async def circle_post(backend: Backend, circle_id: str, path: str, body: JSON | None) -> JSON:
    done: JSON = await backend.post("sessions", f"/circles/{circle_id}{path}", json=body)
    return done


async def circle_patch(backend: Backend, circle_id: str, path: str, body: JSON) -> JSON:
    done: JSON = await backend.patch("sessions", f"/circles/{circle_id}{path}", json=body)
    return done


async def activities(backend: Backend, locale: str) -> list[JSON]:
    found: list[JSON] = (
        await _or_none(backend.get("sessions", "/activities", params={"locale": locale})) or []
    )
    return found


# -- suggestions ------------------------------------------------------------------------------------


async def suggestions(backend: Backend, cohort_id: str, participant_id: str) -> list[JSON] | None:
    """matching's suggestions for the enrolment (None when it is not the caller's to read)."""
    found: list[JSON] | None = await _or_none(
        backend.get(
            "matching", f"/cohorts/{cohort_id}/participants/{participant_id}/suggestions", params={"k": 5}
        )
    )
    return found


async def request_partner(backend: Backend, cohort_id: str, participant_id: str, partner_id: str) -> JSON:
    done: JSON = await backend.post(
        "matching",
        f"/cohorts/{cohort_id}/participants/{participant_id}/requests",
        json={"partner_id": partner_id},
    )
    return done


# -- notifications ----------------------------------------------------------------------------------


async def mark_read(backend: Backend, item_id: str) -> None:
    await backend.post("notifications", f"/me/notifications/{item_id}/read")


async def mark_all_read(backend: Backend) -> None:
    await backend.post("notifications", "/me/notifications/read-all")


async def preferences(backend: Backend) -> JSON:
    found: JSON = await backend.get("notifications", "/me/preferences")
    return found


async def participant_preferences(backend: Backend, recipient_id: str) -> JSON | None:
    """HR's read-only view of one participant's preferences (None when not theirs to see)."""
    found: JSON | None = await _or_none(backend.get("notifications", f"/preferences/{recipient_id}"))
    return found


async def save_preferences(backend: Backend, body: JSON) -> JSON:
    saved: JSON = await backend.put("notifications", "/me/preferences", json=body)
    return saved
