"""A synthetic but realistic programme as events: cohorts, enrolments, proposals, pairs, and per
pair a relationship with an agreement, sessions (scheduled + held, with topics both ways), goals,
feedback, occasional risk signals and closures, plus notifications. About 30 events per pair."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from bridge_shared.contracts import matching as m
from bridge_shared.contracts import notifications as n
from bridge_shared.contracts import sessions as s
from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source
from bridge_shared.privacy.sealing import new_key, subjects_to_seal

REGIONS = ("EMEA", "APAC", "AMER", "LATAM")
DEPTS = ("Engineering", "Sales", "Finance", "Marketing", "Operations", "HR")
DIRS = ("mentor_to_mentee", "mentee_to_mentor")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
INVITE = s.CalendarInvite(
    uid="bench", sequence=0, method="REQUEST", ics="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
)
EXPL = m.MatchExplanation(score=0.8, breakdown={"skills": 0.5, "availability": 0.3}, summary="bench")


# What the producers write today for the families that carry personal data (docs/privacy.md).
V2_OF: dict[type[EventPayload], type[EventPayload]] = {
    m.ParticipantEnrolledV1: m.ParticipantEnrolledV2,
    m.MatchProposedV1: m.MatchProposedV2,
    m.PairFormedV1: m.PairFormedV2,
    s.SessionScheduledV1: s.SessionScheduledV2,
    s.SessionHeldV1: s.SessionHeldV2,
    s.GoalSetV1: s.GoalSetV2,
    s.PairClosedV1: s.PairClosedV2,
}


class Sealer:
    """Writes the v2 (sealed) version of each event that has one, as the services' outboxes do, with
    one key per participant (`keys`: to put in the key vault before reading the events back)."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self._people: dict[str, dict[str, str]] = {}  # relationship id -> mentor_id, mentee_id

    def build(self, payload: EventPayload, at: datetime, event_id: str) -> OutgoingEvent:
        if isinstance(payload, s.RelationshipStartedV1):
            self._people[payload.relationship_id] = {
                "mentor_id": payload.mentor_id,
                "mentee_id": payload.mentee_id,
            }
        v2 = V2_OF.get(type(payload))
        if v2 is not None:
            data = payload.model_dump()
            if isinstance(payload, s.GoalSetV1):
                data |= self._people[payload.relationship_id]
            payload = v2.model_validate(data)
        subjects = (
            subjects_to_seal(type(payload), payload.model_dump(mode="json")) if v2 is not None else set()
        )
        for subject in subjects:
            self.keys.setdefault(subject, new_key())
        return build_event(
            payload, source=owner_source(payload.topic), time=at, event_id=event_id, keys=self.keys
        )


def _ev(
    payload: EventPayload, at: datetime, counter: list[int], run: str, sealer: Sealer | None = None
) -> OutgoingEvent:
    counter[0] += 1
    if sealer is not None:
        return sealer.build(payload, at, f"{run}-{counter[0]}")
    return build_event(payload, source=owner_source(payload.topic), time=at, event_id=f"{run}-{counter[0]}")


def programme(
    target_events: int, *, run: str, seed: int = 1, pairs_per_cohort: int = 500, sealer: Sealer | None = None
) -> Iterator[OutgoingEvent]:
    """Yields about `target_events` events (stops at exactly that many); with a `sealer`, the v2
    (sealed) version of every event that has one."""
    rnd = random.Random(seed)
    counter = [0]
    emitted = 0
    cohort_no = 0
    while True:
        cohort_no += 1
        cid = f"{run}-c{cohort_no}"
        t0 = START + timedelta(days=7 * (cohort_no % 20))
        batch: list[OutgoingEvent] = [
            _ev(
                m.CohortCreatedV1(
                    cohort_id=cid,
                    name=f"Bench cohort {cohort_no}",
                    regions=list(REGIONS),
                    hr_contact_email="hr@bridge.example",
                ),
                t0,
                counter,
                run,
                sealer,
            )
        ]
        for k in range(pairs_per_cohort):
            batch.extend(_pair(rnd, cid, k, t0, counter, run, sealer))
            if len(batch) >= 2000:
                for e in batch:
                    yield e
                    emitted += 1
                    if emitted >= target_events:
                        return
                batch = []
        for e in batch:
            yield e
            emitted += 1
            if emitted >= target_events:
                return


def _person(rnd: random.Random, cid: str, key: str, senior: bool) -> m.ParticipantRef:
    region = rnd.choice(REGIONS)
    return m.ParticipantRef(
        participant_id=f"{cid}-{key}",
        employee_id=f"E-{cid}-{key}",
        display_name=f"Person {key}",
        email=f"{key}@bridge.example",
        region=region,
        department=rnd.choice(DEPTS),
        seniority_level=rnd.randint(7, 12) if senior else rnd.randint(1, 5),
        timezone="UTC",
    )


def _pair(
    rnd: random.Random,
    cid: str,
    k: int,
    t0: datetime,
    counter: list[int],
    run: str,
    sealer: Sealer | None = None,
) -> list[OutgoingEvent]:
    out: list[OutgoingEvent] = []

    def add(p: EventPayload, at: datetime) -> None:
        out.append(_ev(p, at, counter, run, sealer))

    mentor, mentee = _person(rnd, cid, f"m{k}", False), _person(rnd, cid, f"l{k}", True)
    for ref, role in ((mentor, "mentor"), (mentee, "mentee")):
        add(
            m.ParticipantEnrolledV1(
                participant_id=ref.participant_id,
                cohort_id=cid,
                role=role,  # type: ignore[arg-type]
                profile=ref,
            ),
            t0,
        )
    if rnd.random() < 0.1:  # unmatched
        return out
    prop = f"{cid}-p{k}"
    add(
        m.MatchProposedV1(
            proposal_id=prop,
            cohort_id=cid,
            mentor=mentor,
            mentee=mentee,
            explanation=EXPL,
            expires_at=t0 + timedelta(days=7),
        ),
        t0 + timedelta(days=1),
    )
    for who in (mentor, mentee):
        add(
            m.MatchAcceptedV1(proposal_id=prop, cohort_id=cid, participant_id=who.participant_id),
            t0 + timedelta(days=2),
        )
    pair = f"{cid}-pair{k}"
    formed = t0 + timedelta(days=2)
    add(
        m.PairFormedV1(
            pair_id=pair, cohort_id=cid, mentor=mentor, mentee=mentee, explanation=EXPL, formed_at=formed
        ),
        formed,
    )
    rel = {"relationship_id": f"{cid}-r{k}", "pair_id": pair, "cohort_id": cid}
    ids = {"mentor_id": mentor.participant_id, "mentee_id": mentee.participant_id}
    for i, who in enumerate((mentor, mentee)):
        add(
            n.NotificationSentV1(
                notification_id=f"{pair}-n{i}",
                recipient_id=who.participant_id,
                cohort_id=cid,
                channel="email",
                kind="pair_formed",
                source_event_id=pair,
                sent_at=formed,
            )
            if rnd.random() > 0.02
            else n.NotificationFailedV1(
                notification_id=f"{pair}-n{i}",
                recipient_id=who.participant_id,
                cohort_id=cid,
                channel="email",
                kind="pair_formed",
                source_event_id=pair,
                reason="bounce",
                permanent=True,
                failed_at=formed,
            ),
            formed,
        )
    add(s.RelationshipStartedV1(**rel, **ids, started_at=formed), formed)
    add(
        s.AgreementDraftedV1(**rel, agreement_version=1, by_participant_id=mentor.participant_id),
        formed + timedelta(days=1),
    )
    if rnd.random() < 0.85:
        add(
            s.AgreementConfirmedV1(
                **rel,
                agreement_version=1,
                by_participant_id=mentee.participant_id,
                cadence_days=14,
                start_date=date(2026, 1, 5),
                end_date=date(2026, 7, 5),
            ),
            formed + timedelta(days=2),
        )
    at = formed + timedelta(days=3)
    for j in range(rnd.randint(2, 7)):
        sid = {"session_id": f"{pair}-s{j}", **ids}
        add(
            s.SessionScheduledV1(**rel, **sid, starts_at=at, duration_minutes=45, invite=INVITE),
            at - timedelta(days=2),
        )
        add(
            s.SessionHeldV1(
                **rel,
                **sid,
                held_at=at,
                actual_duration_minutes=rnd.randint(30, 60),
                topics=[
                    s.TopicCovered(topic=f"t{x}", direction=rnd.choice(DIRS))  # type: ignore[arg-type]
                    for x in range(rnd.randint(1, 4))
                ],
            ),
            at,
        )
        at += timedelta(days=rnd.randint(7, 21))
    for g in range(2):
        goal = {
            "goal_id": f"{pair}-g{g}",
            "owner_participant_id": mentee.participant_id,
            "owner_side": "mentee",
        }
        add(s.GoalSetV1(**rel, **goal, title="A goal"), formed + timedelta(days=3))  # type: ignore[arg-type]
        add(s.GoalProgressedV1(**rel, **goal, rating=rnd.randint(1, 5)), at - timedelta(days=3))  # type: ignore[arg-type]
        if rnd.random() < 0.5:
            add(s.GoalAchievedV1(**rel, **goal), at - timedelta(days=1))  # type: ignore[arg-type]
    for i, (who, side) in enumerate(((mentor, "mentor"), (mentee, "mentee"))):
        add(
            s.FeedbackSubmittedV1(
                **rel,
                feedback_id=f"{pair}-f{i}",
                kind="pulse",
                by_participant_id=who.participant_id,
                by_side=side,
                rating=rnd.randint(1, 5),  # type: ignore[arg-type]
                recommend_score=rnd.randint(0, 10),
                submitted_at=at,
            ),
            at,
        )
    if rnd.random() < 0.2:
        add(
            s.PairAtRiskV1(
                **rel, **ids, reason="inactive", detail="quiet", detected_at=at + timedelta(days=21)
            ),
            at + timedelta(days=21),
        )
        if rnd.random() < 0.5:
            add(
                s.PairRiskResolvedV1(**rel, reason="inactive", resolved_at=at + timedelta(days=25)),
                at + timedelta(days=25),
            )
    if rnd.random() < 0.3:
        add(
            s.PairClosedV1(
                **rel, **ids, outcome="completed", closed_at=at + timedelta(days=30), sessions_held=3
            ),
            at + timedelta(days=30),
        )
    return out
