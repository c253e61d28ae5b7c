"""Data-protection requests and answers (docs/privacy.md).

Matching coordinates: it publishes an erasure or an export request on `bridge.matching.privacy`
(keyed by the request id); sessions, notifications and reporting each answer on their own
`bridge.<service>.privacy` topic. Requests name people only by participant ids (pseudonymous: every
participant id the person has, one per cohort), never by employee id, name or e-mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from bridge_shared.contracts.common import Identifier
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload, event
from bridge_shared.privacy.classification import Personal

ANSWERING_SERVICES = ("sessions", "notifications", "reporting")
"""The services besides matching that hold personal data and answer every request."""

ParticipantIds = Annotated[list[Identifier], Field(min_length=1, max_length=1000)]


@event("matching.erasure.requested", version=1, topic=topics.MATCHING_PRIVACY, key="erasure_id")
class ErasureRequestedV1(EventPayload):
    """Erase (or irreversibly anonymise) everything about these participants. Their keys in the key
    vault are already destroyed when this is published, so every sealed field about them is gone."""

    erasure_id: Identifier
    participant_ids: ParticipantIds
    cohort_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    requested_at: datetime


@event("matching.export.requested", version=1, topic=topics.MATCHING_PRIVACY, key="export_id")
class ExportRequestedV1(EventPayload):
    """Send everything you hold about these participants (Art. 15 and 20) as an export part."""

    export_id: Identifier
    participant_ids: ParticipantIds
    requested_at: datetime


class ErasureCompleted(EventPayload):
    erasure_id: Identifier
    service: str
    completed_at: datetime
    erased: dict[str, int] = Field(
        default_factory=dict, description="rows erased or anonymised, by kind (e.g. 'relationships': 1)"
    )


class ExportPart(EventPayload):
    """One service's data about the person, in `chunks` parts (each under the event size limit)."""

    export_id: Identifier
    service: str
    participant_ids: ParticipantIds
    chunk: int = Field(ge=1)
    chunks: int = Field(ge=1, le=100)
    data: Annotated[dict[str, Any], Personal(by=("participant_ids",), erased={})] = Field(
        description="This service's section of the export document (sealed under the person's keys)"
    )


@event("sessions.erasure.completed", version=1, topic=topics.SESSIONS_PRIVACY, key="erasure_id")
class SessionsErasureCompletedV1(ErasureCompleted):
    service: Literal["sessions"] = "sessions"


@event("notifications.erasure.completed", version=1, topic=topics.NOTIFICATIONS_PRIVACY, key="erasure_id")
class NotificationsErasureCompletedV1(ErasureCompleted):
    service: Literal["notifications"] = "notifications"


@event("reporting.erasure.completed", version=1, topic=topics.REPORTING_PRIVACY, key="erasure_id")
class ReportingErasureCompletedV1(ErasureCompleted):
    service: Literal["reporting"] = "reporting"


@event("sessions.export.part", version=1, topic=topics.SESSIONS_PRIVACY, key="export_id")
class SessionsExportPartV1(ExportPart):
    service: Literal["sessions"] = "sessions"


@event("notifications.export.part", version=1, topic=topics.NOTIFICATIONS_PRIVACY, key="export_id")
class NotificationsExportPartV1(ExportPart):
    service: Literal["notifications"] = "notifications"


@event("reporting.export.part", version=1, topic=topics.REPORTING_PRIVACY, key="export_id")
class ReportingExportPartV1(ExportPart):
    service: Literal["reporting"] = "reporting"
