"""Plans the notifications of one mentoring-circle event (issue 15), in the consumer's transaction:
finds the circle's people, leaves out the erased and those who left the company, and stores one
notification per recipient through the same path as a pair's (preferences, quiet hours, digests).
What each rule means is `domain/routing.py`; who a rule addresses and what a message says about the
circle is `domain/circles.py`."""

from __future__ import annotations

import logging

from bridge_notifications.app.recipients import effective_prefs, hr_contact
from bridge_notifications.app.storing import Step, cancel, store
from bridge_notifications.db import circles as circle_rows
from bridge_notifications.db import directory, privacy
from bridge_notifications.domain import circles, planning, routing
from bridge_notifications.domain.circles import CirclePeople
from bridge_notifications.domain.planning import UnknownRecipient, hr_context
from bridge_notifications.domain.privacy import is_erased_ref
from bridge_notifications.domain.recipients import Person, hr_prefs, person_from_ref
from bridge_notifications.domain.routing import Action, Cancel, CirclePayload, RouteContext
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import circles as c
from bridge_shared.db.connection import Conn

log = logging.getLogger(__name__)


class CirclePlanner:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings

    async def apply(
        self,
        conn: Conn,
        event_id: str,
        event_type: str,
        payload: CirclePayload,
        actions: tuple[Action, ...],
        ctx: RouteContext,
    ) -> int:
        """Plans the event's rules; returns how many rows were created."""
        now = ctx.now
        activity_id = await self._activity(conn, payload)
        created = 0
        first_notify = True
        people: CirclePeople | None = None
        for action in actions:
            if isinstance(action, Cancel):
                await cancel(conn, action, payload, event_type=event_type, event_id=event_id, now=now)
                continue
            if action.only_if is not None and not action.only_if(payload):
                continue
            source_key = event_id if first_notify else f"{event_id}#{action.kind}"
            first_notify = False
            due = planning.due_at(action, payload, ctx, now)
            if due is None:
                continue
            if people is None:
                people = await self._people(conn, payload)
            group_key = routing.group_name(action.group, payload) if action.group else None
            step = Step(event_id, source_key, action, payload, due, group_key, now)
            base = circles.circle_context(self.settings, payload, people, ctx, activity_id=activity_id)
            if action.to == "hr":
                hr, hr_defaults = await hr_contact(conn, payload.cohort_id, self.settings)
                if hr is None:
                    log.warning(
                        "no HR contact known for cohort %s; %s not sent", payload.cohort_id, action.kind
                    )
                    continue
                context = hr_context(self.settings, base, hr, payload.cohort_id)
                created += await store(conn, self.settings, step, hr, hr_prefs(hr_defaults, hr), context)
                continue
            if action.to not in ("members", "others", "facilitator", "newcomer"):
                raise ValueError(f"{action.to!r} is not a circle's recipient ({action.kind})")
            for pid in circles.recipients(action.to, payload, people):
                if pid in people.erased or pid in people.left:
                    # Never to an erased person; nothing of any kind to someone who left the company.
                    why = "erased" if pid in people.erased else "left the company"
                    log.info("%s of %s %s not sent to %s: %s", action.kind, event_type, event_id, pid, why)
                    continue
                me = people.known[pid]
                prefs = await effective_prefs(conn, me, self.settings)
                context = circles.member_context(self.settings, base, payload, me, people, prefs)
                created += await store(conn, self.settings, step, me, prefs, context)
        if isinstance(payload, c.CircleClosedV1 | c.CircleDissolvedV1):
            await circle_rows.forget_circle(conn, payload.circle_id)
        return created

    @staticmethod
    async def _activity(conn: Conn, payload: CirclePayload) -> str | None:
        """The session's activity: as scheduled (remembered), or as remembered when it moves."""
        if isinstance(payload, c.CircleSessionScheduledV1):
            await circle_rows.record_session(conn, payload.session_id, payload.circle_id, payload.activity_id)
            return payload.activity_id
        if isinstance(payload, c.CircleSessionRescheduledV1 | c.CircleSessionCancelledV1):
            return await circle_rows.session_activity(conn, payload.session_id)
        return None

    async def _people(self, conn: Conn, payload: CirclePayload) -> CirclePeople:
        """The circle's members: from the event where it describes them (a proposal, a refill's
        newcomer, the formed circle; recorded in the directory as a pair's people are), else from
        the directory. The erased are looked up first and never looked for; anyone else not known
        yet makes the consumer retry (then dead-letter), as for a pair."""
        ids = circles.member_ids(payload)
        described: list[c.CircleMember] = list(getattr(payload, "members", None) or [])
        added = getattr(payload, "added", None)
        if isinstance(added, c.CircleMember):
            described.append(added)
        erased = {m.participant_id for m in described if is_erased_ref(m)}
        erased |= await privacy.erased_among(conn, list(ids))
        known: dict[str, Person] = {}
        for member in described:
            if member.participant_id in erased:
                continue
            await directory.upsert_recipient(conn, member, payload.cohort_id)
            known[member.participant_id] = person_from_ref(member, payload.cohort_id)
        for pid in ids:
            if pid in erased or pid in known:
                continue
            found = await directory.person(conn, pid)
            if found is None:
                raise UnknownRecipient(f"participant {pid} is not in the recipient directory yet")
            known[pid] = found
        left = await directory.left_among(conn, list(ids))
        return CirclePeople(
            member_ids=ids,
            facilitator_id=getattr(payload, "facilitator_id", None),
            known=known,
            erased=frozenset(erased),
            left=frozenset(left),
        )
