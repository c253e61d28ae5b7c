"""Which events the read models are built from, and the rows each one contributes. Pure: no I/O.

Times are event times (payload times where the contract has them, else the CloudEvents `time`),
never arrival times, so a replay gives the same rows as live consumption.
"""

from __future__ import annotations

from collections.abc import Iterable

from bridge_reporting.domain import circle_rows
from bridge_reporting.domain.matching_rows import matching_rows
from bridge_reporting.domain.notification_rows import notification_rows
from bridge_reporting.domain.sessions_rows import relationship_rows
from bridge_reporting.domain.timeline import Rows
from bridge_reporting.domain.upsert import BatchWriter
from bridge_shared.contracts import circles as c
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import notifications as n
from bridge_shared.contracts import sessions as s
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.events.registry import EventPayload

HANDLED: tuple[type[EventPayload], ...] = (
    m.CohortCreatedV1,
    m.CohortPhaseChangedV1,
    m.ParticipantEnrolledV1,
    m.ParticipantUpdatedV1,
    m.ParticipantWithdrawnV1,
    m.MatchProposedV1,
    m.MatchAcceptedV1,
    m.MatchDeclinedV1,
    m.MatchExpiredV1,
    m.MatchCancelledV1,
    m.PairFormedV1,
    m.PairDissolvedV1,
    # The company directory (issue 19): flagged pairs, and leavers and movers among the enrolled.
    m.PairFlaggedV1,
    m.PersonLeftV1,
    m.PersonMovedV1,
    s.RelationshipStartedV1,
    s.AgreementDraftedV1,
    s.AgreementConfirmedV1,
    s.AgreementAmendedV1,
    s.SessionScheduledV1,
    s.SessionRescheduledV1,
    s.SessionCancelledV1,
    s.SessionHeldV1,
    s.GoalSetV1,
    s.GoalProgressedV1,
    s.GoalAchievedV1,
    s.GoalAbandonedV1,
    s.FeedbackSubmittedV1,
    s.PairAtRiskV1,
    s.PairRiskResolvedV1,
    s.RelationshipEndingSoonV1,
    s.PairClosedV1,
    n.NotificationSentV1,
    n.NotificationFailedV1,
    # v2: the same facts with personal fields sealed (subclasses of v1, so rows_for treats them
    # alike); an erased person's sealed fields arrive as the placeholders of privacy/erased.py.
    m.ParticipantEnrolledV2,
    m.ParticipantUpdatedV2,
    m.ParticipantWithdrawnV2,
    m.MatchProposedV2,
    m.MatchDeclinedV2,
    m.PairFormedV2,
    m.PairDissolvedV2,
    s.SessionScheduledV2,
    s.SessionRescheduledV2,
    s.SessionCancelledV2,
    s.SessionHeldV2,
    s.GoalSetV2,
    s.GoalAbandonedV2,
    s.PairClosedV2,
    # Mentoring circles (issue 15): sealed from their first version.
    *circle_rows.HANDLED,
)
HANDLED_TYPES = frozenset(p.event_type for p in HANDLED)


def rows_for(event: InboundEvent) -> Rows:
    """The read-model rows one event contributes."""
    p = event.payload
    if isinstance(p, s.RelationshipEvent):
        return relationship_rows(event.id, event.attributes.time, p)
    if isinstance(p, n.NotificationSentV1 | n.NotificationFailedV1):
        return notification_rows(p)
    if isinstance(p, c.CircleEvent):
        return circle_rows.circle_rows(event.id, event.attributes.time, p)
    return matching_rows(event.id, event.attributes.time, p)


def fold(events: Iterable[InboundEvent], writer: BatchWriter | None = None) -> BatchWriter:
    writer = writer or BatchWriter()
    for event in events:
        for table, row in rows_for(event):
            writer.add(table, row)
    return writer
