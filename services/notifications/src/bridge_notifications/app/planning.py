"""Applies the routing table to one inbound event: resolves recipients, preferences and timing,
renders, and stores deliveries (email/chat) and inbox items, all in the consumer's transaction.
What to plan is decided by `domain/planning.py`; this module looks things up and stores them.
A pair's events are planned here, a circle's by `app/circle_planning.py` (the same storing path:
preferences, quiet hours, digests and leavers apply alike)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bridge_notifications.app.circle_planning import CirclePlanner
from bridge_notifications.app.directory import participants_left
from bridge_notifications.app.recipients import effective_prefs, hr_contact
from bridge_notifications.app.storing import Step, cancel, store
from bridge_notifications.db import directory, preferences, privacy
from bridge_notifications.domain import planning, routing
from bridge_notifications.domain.planning import (
    UnknownRecipient,
    hr_context,
    pair_context,
    participant_context,
)
from bridge_notifications.domain.privacy import is_erased_ref
from bridge_notifications.domain.recipients import Person, hr_prefs, person_from_ref
from bridge_notifications.domain.routing import Cancel, Notify, PairPayload, RouteContext, RoutedPayload
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.db.connection import Conn

__all__ = ["Planner", "UnknownRecipient"]

log = logging.getLogger(__name__)


class Planner:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self.circles = CirclePlanner(settings)

    async def _ids(self, conn: Conn, payload: PairPayload) -> tuple[str, str] | None:
        """(mentor id, mentee id) of the event's pair: from the event, or, for events that name only
        the proposal or the pair (agreements, declines), from what match.proposed / pair.formed said."""
        if isinstance(payload, m.MatchProposedV1 | m.PairFormedV1):
            ref = payload.proposal_id if isinstance(payload, m.MatchProposedV1) else payload.pair_id
            ids = (payload.mentor.participant_id, payload.mentee.participant_id)
            await directory.record_pairing(conn, ref, payload.cohort_id, *ids)
            return ids
        mentor_id, mentee_id = getattr(payload, "mentor_id", None), getattr(payload, "mentee_id", None)
        if mentor_id and mentee_id:
            return str(mentor_id), str(mentee_id)
        named = getattr(payload, "proposal_id", None) or getattr(payload, "pair_id", None)
        return await directory.pairing(conn, str(named)) if named else None

    async def _erased(self, conn: Conn, payload: PairPayload, ids: tuple[str, str]) -> set[str]:
        """The pair's participants who are erased: described by placeholders in the event (their key
        was destroyed), or known as erased here or in the key vault."""
        erased: set[str] = set()
        if isinstance(payload, m.MatchProposedV1 | m.PairFormedV1):
            erased = {r.participant_id for r in (payload.mentor, payload.mentee) if is_erased_ref(r)}
        return erased | await privacy.erased_among(conn, list(ids))

    @staticmethod
    async def _left(conn: Conn, ids: tuple[str, str]) -> set[str]:
        """The pair's participants who left the company: never recipients again (issue 19)."""
        return await directory.left_among(conn, list(ids))

    async def _pair(self, conn: Conn, payload: PairPayload, ids: tuple[str, str]) -> tuple[Person, Person]:
        if isinstance(payload, m.MatchProposedV1 | m.PairFormedV1):
            for ref in (payload.mentor, payload.mentee):
                await directory.upsert_recipient(conn, ref, payload.cohort_id)
            return (
                person_from_ref(payload.mentor, payload.cohort_id),
                person_from_ref(payload.mentee, payload.cohort_id),
            )
        found = []
        for pid in ids:
            p = await directory.person(conn, pid)
            if p is None:
                raise UnknownRecipient(f"participant {pid} is not in the recipient directory yet")
            found.append(p)
        return found[0], found[1]

    async def apply(
        self, conn: Conn, event_id: str, event_type: str, payload: RoutedPayload, now: datetime
    ) -> int:
        """Plans the notifications of one routed event; returns how many rows were created."""
        actions = routing.ROUTES.get(event_type, ())
        leaver = (
            payload.left_participant_id
            if isinstance(payload, s.PairClosedV2 | s.SessionCancelledV2)
            else None
        )
        if leaver is not None and routing.someone_left(payload):
            # Whichever comes first, this (or the cancellation of a session of the closed relationship,
            # which comes before it) or matching.person.left: from now on nothing reaches them.
            await participants_left(conn, [leaver], left_on=None, now=now, why=f"{event_type} {event_id}")
        hr_email = getattr(payload, "hr_contact_email", None)
        cohort_id = payload.cohort_id
        if hr_email:
            await directory.upsert_cohort(conn, cohort_id, hr_contact_email=str(hr_email))
        defaults = await preferences.cohort_defaults(conn, cohort_id)
        escalate_days = defaults.escalate_after_days if defaults else None
        ctx = RouteContext(
            reminder_before=timedelta(hours=self.settings.reminder_hours_before),
            escalate_after=timedelta(days=escalate_days or self.settings.escalate_after_days),
            agreement_reminder=timedelta(days=self.settings.agreement_reminder_days),
            now=now,
            activity_prompt_before=timedelta(hours=self.settings.activity_prompt_hours_before),
        )
        if isinstance(payload, routing.CIRCLE_PAYLOADS):
            return await self.circles.apply(conn, event_id, event_type, payload, actions, ctx)
        ids = await self._ids(conn, payload) if any(isinstance(a, Notify) for a in actions) else None
        declines = 0
        if isinstance(payload, m.MatchDeclinedV1):
            declines = await directory.record_decline(
                conn, payload.proposal_id, cohort_id, payload.participant_id, now
            )
        pair: tuple[Person, Person] | None = None
        created = 0
        first_notify = True
        erased: set[str] | None = None
        left: set[str] = set()
        for action in actions:
            if isinstance(action, Cancel):
                await cancel(conn, action, payload, event_type=event_type, event_id=event_id, now=now)
                continue
            if action.only_if is not None and not action.only_if(payload):
                continue
            if action.on_repeated_decline and declines != self.settings.repeated_decline_threshold:
                continue
            if ids is None:
                log.warning(
                    "%s of %s %s not sent: its pair is not known here", action.kind, event_type, event_id
                )
                continue
            source_key = event_id if first_notify else f"{event_id}#{action.kind}"
            first_notify = False
            due = planning.due_at(action, payload, ctx, now)
            if due is None:
                continue
            group_key = routing.group_name(action.group, payload) if action.group else None
            if erased is None:
                erased = await self._erased(conn, payload, ids)
                left = await self._left(conn, ids)
            if erased:
                # Never to an erased person, and never to anyone else about them (docs/privacy.md).
                log.info(
                    "%s of %s %s not sent: participant %s is erased",
                    action.kind,
                    event_type,
                    event_id,
                    ", ".join(sorted(erased)),
                )
                continue
            if pair is None:
                pair = await self._pair(conn, payload, ids)
            mentor, mentee = pair
            base = {
                **pair_context(self.settings, payload, mentor, mentee, ctx),
                "declines": declines,
            }
            step = Step(event_id, source_key, action, payload, due, group_key, now)
            if action.to == "hr":
                hr, hr_defaults = await hr_contact(conn, cohort_id, self.settings)
                if hr is None:
                    log.warning("no HR contact known for cohort %s; %s not sent", cohort_id, action.kind)
                    continue
                context = hr_context(self.settings, base, hr, cohort_id)
                created += await store(conn, self.settings, step, hr, hr_prefs(hr_defaults, hr), context)
                continue
            for me, partner, role in ((mentor, mentee, "mentor"), (mentee, mentor, "mentee")):
                if me.recipient_id in left:
                    log.info(
                        "%s of %s %s not sent to %s: left the company",
                        action.kind,
                        event_type,
                        event_id,
                        me.recipient_id,
                    )
                    continue  # nothing of any kind, ever, to someone who left the company
                if action.to == "partner" and me.recipient_id == getattr(payload, "by_participant_id", None):
                    continue  # the one who acted is not prompted
                if action.to == "remaining" and me.recipient_id == getattr(
                    payload, "left_participant_id", None
                ):
                    continue  # only the one who stayed
                prefs = await effective_prefs(conn, me, self.settings)
                context = participant_context(self.settings, base, payload, me, partner, role, prefs)
                created += await store(conn, self.settings, step, me, prefs, context)
        return created
