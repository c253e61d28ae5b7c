"""A realistic, small cohort as events, with the figures reporting must derive from it.

Two regions; six people paired into three pairs (one cross-region), one unmatched, one withdrawn;
sessions with topics in both directions, goals, feedback, risk signals, a closure, notifications.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bridge_shared.contracts import matching as m
from bridge_shared.contracts import notifications as n
from bridge_shared.contracts import sessions as s
from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
M2E, E2M = "mentor_to_mentee", "mentee_to_mentor"


def day(n: float) -> datetime:
    return BASE + timedelta(days=n)


@dataclass
class Scenario:
    prefix: str
    cohort_id: str
    events: list[OutgoingEvent] = field(default_factory=list)
    pairs: dict[str, str] = field(default_factory=dict)  # A/B/C -> pair id
    forged_source: str | None = None  # every event claims this source instead of its topic's owner
    payloads: list[tuple[EventPayload, datetime, str]] = field(default_factory=list)  # as built
    pids: dict[str, str] = field(default_factory=dict)  # M1/L1/... -> participant id
    sides: dict[str, tuple[str, str]] = field(default_factory=dict)  # pair id -> (mentor, mentee) ids

    def add(self, payload: EventPayload, at: datetime, source: str | None = None) -> OutgoingEvent:
        # As the topic's owner publishes it: consumers dead-letter an event from another source.
        source = source or self.forged_source or owner_source(payload.topic)
        eid = f"{self.prefix}-{len(self.events):03d}"
        evt = build_event(payload, source=source, time=at, event_id=eid)
        self.events.append(evt)
        self.payloads.append((payload, at, eid))
        return evt


PEOPLE = {
    # key: (role, region, department, seniority)
    "M1": ("mentor", "EMEA", "Engineering", 2),
    "M2": ("mentor", "EMEA", "Sales", 3),
    "M3": ("mentor", "APAC", "Engineering", 5),
    "L1": ("mentee", "EMEA", "Engineering", 8),
    "L2": ("mentee", "APAC", "Finance", 11),
    "L3": ("mentee", "APAC", "Engineering", 9),
    "U1": ("mentor", "EMEA", "Marketing", 2),
    "W1": ("mentor", "APAC", "Finance", 4),
}


def build(
    prefix: str | None = None, forged_source: str | None = None, unique_names: bool = False
) -> Scenario:
    """`unique_names`: display names carry the prefix too (a test that searches for a name)."""
    prefix = prefix or f"r{uuid.uuid4().hex[:10]}"
    sc = Scenario(prefix, f"{prefix}-cohort", forged_source=forged_source)
    c = sc.cohort_id
    pid = sc.pids = {k: f"{prefix}-{k}" for k in PEOPLE}
    refs: dict[str, m.ParticipantRef] = {}
    sc.add(
        m.CohortCreatedV1(
            cohort_id=c,
            name=f"Cohort {prefix}",
            regions=["EMEA", "APAC"],
            hr_contact_email="hr@bridge.example",
            programme_start=date(2026, 3, 2),
            programme_end=date(2026, 8, 31),
        ),
        day(-10),
    )
    for i, (k, (role, region, dept, level)) in enumerate(PEOPLE.items()):
        refs[k] = m.ParticipantRef(
            participant_id=pid[k],
            employee_id=f"E{prefix}{k}",
            display_name=f"Person {k} {prefix}" if unique_names else f"Person {k}",
            email=f"{k.lower()}@bridge.example",
            region=region,
            department=dept,
            seniority_level=level,
            timezone="Europe/London" if region == "EMEA" else "Asia/Singapore",
        )
        sc.add(
            m.ParticipantEnrolledV1(
                participant_id=pid[k],
                cohort_id=c,
                role=role,  # type: ignore[arg-type]
                profile=refs[k],
            ),
            day(-9 + i * 0.01),
        )
    sc.add(m.ParticipantWithdrawnV1(participant_id=pid["W1"], cohort_id=c, reason="moved role"), day(-5))
    sc.add(
        m.CohortPhaseChangedV1(cohort_id=c, from_phase="enrolment", to_phase="matching", changed_at=day(-4)),
        day(-4),
    )
    expl = m.MatchExplanation(score=0.8, breakdown={"skills": 0.5}, summary="good fit")
    proposals = {"A": ("M1", "L1"), "B": ("M3", "L2"), "C": ("M2", "L3"), "X": ("U1", "L1")}
    for key, (mentor, mentee) in proposals.items():
        prop = f"{prefix}-prop-{key}"
        sc.add(
            m.MatchProposedV1(
                proposal_id=prop,
                cohort_id=c,
                mentor=refs[mentor],
                mentee=refs[mentee],
                explanation=expl,
                expires_at=day(3),
            ),
            day(-3),
        )
        if key == "X":
            sc.add(m.MatchDeclinedV1(proposal_id=prop, cohort_id=c, participant_id=pid["L1"]), day(-2.5))
            continue
        for who in (mentor, mentee):
            sc.add(m.MatchAcceptedV1(proposal_id=prop, cohort_id=c, participant_id=pid[who]), day(-2))
        pair = sc.pairs[key] = f"{prefix}-pair-{key}"
        sc.sides[pair] = (pid[mentor], pid[mentee])
        sc.add(
            m.PairFormedV1(
                pair_id=pair,
                cohort_id=c,
                mentor=refs[mentor],
                mentee=refs[mentee],
                explanation=expl,
                formed_at=day(-1),
                proposal_id=prop,
            ),
            day(-1),
        )

    def rel(key: str) -> dict[str, Any]:
        return {"relationship_id": f"{prefix}-rel-{key}", "pair_id": sc.pairs[key], "cohort_id": c}

    def ses(key: str, n_: int) -> dict[str, Any]:
        mentor, mentee = proposals[key]
        return {
            **rel(key),
            "session_id": f"{prefix}-s-{key}{n_}",
            "mentor_id": pid[mentor],
            "mentee_id": pid[mentee],
        }

    def invite(uid: str) -> s.CalendarInvite:
        return s.CalendarInvite(uid=uid, sequence=0, method="REQUEST", ics="BEGIN:VCALENDAR\nEND:VCALENDAR")

    def held(key: str, n_: int, at: float, topics: list[str]) -> None:
        sc.add(
            s.SessionScheduledV1(
                **ses(key, n_), starts_at=day(at), duration_minutes=45, invite=invite(f"{key}{n_}")
            ),
            day(max(at - 2, -0.1)),
        )
        sc.add(
            s.SessionHeldV1(
                **ses(key, n_),
                held_at=day(at),
                actual_duration_minutes=50,
                topics=[
                    s.TopicCovered(topic=f"t{i}", direction=d)  # type: ignore[arg-type]
                    for i, d in enumerate(topics)
                ],
                action_items=1,
            ),
            day(at),
        )

    for key in ("A", "B", "C"):
        mentor, mentee = proposals[key]
        # A minute after the pair formed, as sessions reacts to it: with equal times the timeline
        # would order the two by event id (random), and the test by chance.
        started = day(-1 + 1 / 1440)
        sc.add(
            s.RelationshipStartedV1(
                **rel(key), mentor_id=pid[mentor], mentee_id=pid[mentee], started_at=started
            ),
            started,
        )
        sc.add(
            s.AgreementDraftedV1(**rel(key), agreement_version=1, by_participant_id=pid[mentor]), day(-0.5)
        )
        if key != "C":
            sc.add(
                s.AgreementConfirmedV1(
                    **rel(key),
                    agreement_version=1,
                    by_participant_id=pid[mentee],
                    cadence_days=14,
                    start_date=date(2026, 3, 2),
                    end_date=date(2026, 8, 31),
                ),
                day(-0.2),
            )
    # Pair A: three sessions, gaps 7 and 14 days; topics 3 one way, 3 the other.
    held("A", 1, 0, [M2E, M2E, E2M])
    held("A", 2, 7, [M2E, E2M])
    held("A", 3, 21, [E2M])
    # Pair B: two sessions, gap 10 days; all topics one way.
    held("B", 1, 3, [M2E, M2E])
    held("B", 2, 13, [M2E])
    # Pair C: a session scheduled and cancelled; nothing held.
    sc.add(
        s.SessionScheduledV1(**ses("C", 1), starts_at=day(5), duration_minutes=45, invite=invite("C1")),
        day(1),
    )
    sc.add(
        s.SessionCancelledV1(
            **ses("C", 1), starts_at=day(5), cancelled_by=pid["L3"], reason="travel", invite=invite("C1")
        ),
        day(4),
    )

    # Goals: A achieves one and abandons one; B makes progress on one.
    def goal(key: str, g: int, side: str) -> dict[str, Any]:
        return {
            **rel(key),
            "goal_id": f"{prefix}-g-{g}",
            "owner_participant_id": pid[proposals[key][0 if side == "mentor" else 1]],
            "owner_side": side,
        }

    sc.add(s.GoalSetV1(**goal("A", 1, "mentee"), title="Use AI tools weekly"), day(0))
    sc.add(s.GoalSetV1(**goal("A", 2, "mentor"), title="Present to the board"), day(0))
    sc.add(s.GoalSetV1(**goal("B", 3, "mentee"), title="Understand Gen Z hiring"), day(3))
    sc.add(s.GoalProgressedV1(**goal("B", 3, "mentee"), rating=3), day(13))
    sc.add(s.GoalAchievedV1(**goal("A", 1, "mentee")), day(21))
    sc.add(s.GoalAbandonedV1(**goal("A", 2, "mentor"), reason="changed focus"), day(21))
    # Feedback: ratings 5, 4, 2, 4 (avg 3.75); recommend 10, 9, 3, 7 (NPS +25).
    fb = [
        ("A", "mentor", 5, 10, 21),
        ("A", "mentee", 4, 9, 21),
        ("B", "mentee", 2, 3, 13),
        ("C", "mentor", 4, 7, 6),
    ]
    for i, (key, side, rating, rec, at) in enumerate(fb):
        who = pid[proposals[key][0 if side == "mentor" else 1]]
        sc.add(
            s.FeedbackSubmittedV1(
                **rel(key),
                feedback_id=f"{prefix}-fb-{i}",
                kind="pulse",
                by_participant_id=who,
                by_side=side,  # type: ignore[arg-type]
                rating=rating,
                recommend_score=rec,
                submitted_at=day(at),
            ),
            day(at),
        )
    # Risk: B was one-directional for a while (resolved); C is inactive (open).
    sc.add(
        s.PairAtRiskV1(
            **rel("B"),
            reason="one_directional",
            detail="all topics one way",
            detected_at=day(14),
            mentor_id=pid["M3"],
            mentee_id=pid["L2"],
        ),
        day(14),
    )
    sc.add(s.PairRiskResolvedV1(**rel("B"), reason="one_directional", resolved_at=day(16)), day(16))
    sc.add(
        s.PairAtRiskV1(
            **rel("C"),
            reason="inactive",
            detail="no session in 21 days",
            detected_at=day(20),
            mentor_id=pid["M2"],
            mentee_id=pid["L3"],
        ),
        day(20),
    )
    sc.add(
        s.PairClosedV1(
            **rel("B"),
            outcome="completed",
            closed_at=day(30),
            sessions_held=2,
            mentor_id=pid["M3"],
            mentee_id=pid["L2"],
        ),
        day(30),
    )

    # Notifications: one sent, one failed for good (APAC), one failed then sent on retry.
    def note(i: int, who: str) -> dict[str, Any]:
        return {
            "notification_id": f"{prefix}-n{i}",
            "recipient_id": pid[who],
            "cohort_id": c,
            "channel": "email",
            "kind": "pair_formed",
            "source_event_id": f"{prefix}-src",
        }

    sc.add(n.NotificationSentV1(**note(1, "M1"), sent_at=day(-0.9)), day(-0.9))
    sc.add(
        n.NotificationFailedV1(
            **note(2, "L2"), reason="mailbox unavailable", permanent=True, failed_at=day(-0.9)
        ),
        day(-0.9),
    )
    sc.add(
        n.NotificationFailedV1(**note(3, "L1"), reason="timeout", permanent=False, failed_at=day(-0.9)),
        day(-0.9),
    )
    sc.add(n.NotificationSentV1(**note(3, "L1"), sent_at=day(-0.8)), day(-0.8))
    return sc


# Figures the scenario must produce (whole cohort).
EXPECTED: dict[str, Any] = {
    "enrolled": 8,
    "withdrawn": 1,
    "leavers": 0,
    "movers": 0,
    "mentors": 5,
    "mentees": 3,
    "proposed": 7,
    "matched": 6,
    "met": 4,
    "match_rate": 0.75,
    "pairs_formed": 3,
    "pairs_active": 2,
    "pairs_at_risk": 1,
    "pairs_closed": 1,
    "pairs_completed": 1,
    "pairs_ended_early": 0,
    "pairs_left_company": 0,
    "pairs_flagged": 0,
    "relationships_started": 3,
    "agreements_confirmed": 2,
    "agreement_confirmation_rate": 0.6667,
    "sessions_held": 5,
    "median_days_between_sessions": 10.0,
    "topics_mentor_to_mentee": 6,
    "topics_mentee_to_mentor": 3,
    "balance_index": 0.6667,
    "goals_set": 3,
    "goals_achieved": 1,
    "goals_abandoned": 1,
    "goal_completion_rate": 0.3333,
    "feedback_responses": 4,
    "rating_responses": 4,
    "average_rating": 3.75,
    "nps_responses": 4,
    "promoters": 2,
    "detractors": 1,
    "nps": 25.0,
    "notifications_sent": 2,
    "notifications_failed": 1,
    "notifications_failed_permanent": 1,
    # No mentoring circles in this scenario (test_circles_reports.py has them).
    "circles_formed": 0,
    "circles_active": 0,
    "circles_closed": 0,
    "circle_memberships": 0,
    "circle_sessions_held": 0,
    "circle_attendance_expected": 0,
    "circle_attended": 0,
    "circle_attendance_rate": None,
    "learning_flows": 0,
    "learning_junior_to_senior": 0,
    "learning_senior_to_junior": 0,
    "learning_other": 0,
    "learning_share_junior_to_senior": None,
    "learning_share_senior_to_junior": None,
    "learning_share_other": None,
    "cross_generation_exchange_index": None,
}
