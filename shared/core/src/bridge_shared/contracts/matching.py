"""Events published by the matching service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge_shared.contracts.common import (
    EventEmail,
    Identifier,
    Locale,
    Region,
    Role,
    Seniority,
    TimeZoneName,
)
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload, event
from bridge_shared.privacy.classification import Classified, Personal
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_ID, ERASED_NAME, ERASED_TEXT

PERSONAL = Classified("personal")  # v1 types carry these plain: superseded by the sealed v2 types


class ParticipantRef(BaseModel):
    """Who someone is, as other services need it to address and report on them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    participant_id: Identifier
    employee_id: Annotated[Identifier, PERSONAL]
    display_name: Annotated[str, Field(min_length=1, max_length=200), PERSONAL]
    email: Annotated[EventEmail, PERSONAL]
    region: Region
    department: str = Field(min_length=1, max_length=120)
    seniority_level: Seniority
    timezone: TimeZoneName
    locale: Locale = "en"


ProgrammeFormat = Literal["pairs", "circles"]


def _pairs_only() -> list[ProgrammeFormat]:
    return ["pairs"]


@event("matching.cohort.created", version=1, topic=topics.MATCHING_COHORT, key="cohort_id")
class CohortCreatedV1(EventPayload):
    cohort_id: Identifier
    name: str
    regions: list[Region]
    hr_contact_email: EventEmail
    enrolment_opens: date | None = None
    enrolment_closes: date | None = None
    programme_start: date | None = None
    programme_end: date | None = None
    inactivity_threshold_days: int = 21
    matching_date: date | None = None
    phase: str = "draft"
    skill_taxonomy: list[str] = Field(default_factory=list)
    formats: list[ProgrammeFormat] = Field(
        default_factory=_pairs_only,
        min_length=1,
        max_length=2,
        description="what the cohort runs: one-to-one pairs, mentoring circles, or both",
    )


@event("matching.cohort.phase_changed", version=1, topic=topics.MATCHING_COHORT, key="cohort_id")
class CohortPhaseChangedV1(EventPayload):
    cohort_id: Identifier
    from_phase: str
    to_phase: str
    changed_at: datetime
    changed_by: str | None = None


@event("matching.cohort.policy_updated", version=1, topic=topics.MATCHING_COHORT, key="cohort_id")
class CohortPolicyUpdatedV1(EventPayload):
    """The cohort's matching policy (criterion weights and hard-constraint settings) changed."""

    cohort_id: Identifier
    policy: dict[str, float | int | bool | str | dict[str, float]]
    updated_by: str
    updated_at: datetime


@event(
    "matching.participant.enrolled",
    version=1,
    topic=topics.MATCHING_PARTICIPANT,
    key="participant_id",
)
class ParticipantEnrolledV1(EventPayload):
    participant_id: Identifier
    cohort_id: Identifier
    role: Role
    profile: ParticipantRef


@event(
    "matching.participant.updated",
    version=1,
    topic=topics.MATCHING_PARTICIPANT,
    key="participant_id",
)
class ParticipantUpdatedV1(EventPayload):
    participant_id: Identifier
    cohort_id: Identifier
    role: Role
    profile: ParticipantRef


@event(
    "matching.participant.withdrawn",
    version=1,
    topic=topics.MATCHING_PARTICIPANT,
    key="participant_id",
)
class ParticipantWithdrawnV1(EventPayload):
    participant_id: Identifier
    cohort_id: Identifier
    reason: str | None = None


class MatchExplanation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float
    breakdown: dict[str, float]
    summary: str


@event("matching.match.proposed", version=1, topic=topics.MATCHING_PROPOSAL, key="proposal_id")
class MatchProposedV1(EventPayload):
    proposal_id: Identifier
    cohort_id: Identifier
    mentor: ParticipantRef
    mentee: ParticipantRef
    explanation: MatchExplanation
    expires_at: datetime
    source: str = "matching_run"
    run_id: Identifier | None = None
    requested_by: Identifier | None = None


@event("matching.match.accepted", version=1, topic=topics.MATCHING_PROPOSAL, key="proposal_id")
class MatchAcceptedV1(EventPayload):
    proposal_id: Identifier
    cohort_id: Identifier
    participant_id: Identifier


@event("matching.match.declined", version=1, topic=topics.MATCHING_PROPOSAL, key="proposal_id")
class MatchDeclinedV1(EventPayload):
    proposal_id: Identifier
    cohort_id: Identifier
    participant_id: Identifier
    reason: str | None = None


@event("matching.match.cancelled", version=1, topic=topics.MATCHING_PROPOSAL, key="proposal_id")
class MatchCancelledV1(EventPayload):
    """An open proposal closed because one of its two people left the programme (withdrew, or was
    erased): not a decline by either of them. Nothing personal: who left is a participant id."""

    proposal_id: Identifier
    cohort_id: Identifier
    mentor_id: Identifier
    mentee_id: Identifier
    left_participant_id: Identifier = Field(description="the one of the two who left")
    cause: Literal["withdrawn", "erased"]
    cancelled_at: datetime


@event("matching.match.expired", version=1, topic=topics.MATCHING_PROPOSAL, key="proposal_id")
class MatchExpiredV1(EventPayload):
    proposal_id: Identifier
    cohort_id: Identifier
    mentor_id: Identifier | None = None
    mentee_id: Identifier | None = None
    expired_at: datetime | None = None


@event("matching.pair.formed", version=1, topic=topics.MATCHING_PAIR, key="pair_id")
class PairFormedV1(EventPayload):
    pair_id: Identifier
    cohort_id: Identifier
    mentor: ParticipantRef
    mentee: ParticipantRef
    explanation: MatchExplanation
    formed_at: datetime
    programme_end: date | None = None
    hr_contact_email: EventEmail | None = None
    proposal_id: Identifier | None = None
    origin: str = "proposal"


@event("matching.pair.dissolved", version=1, topic=topics.MATCHING_PAIR, key="pair_id")
class PairDissolvedV1(EventPayload):
    pair_id: Identifier
    cohort_id: Identifier
    reason: str
    dissolved_by: Identifier
    mentor_id: Identifier | None = None
    mentee_id: Identifier | None = None


# -- v2: personal fields sealed (crypto-shredding, docs/privacy.md) ----------------------------------
# Same fields as v1; employee id, name, e-mail, free text and explanations naming people travel sealed
# under the people's keys, so erasing a person makes every copy on Kafka unreadable.

_BY_SELF = ("participant_id",)
_BY_PAIR = ("mentor.participant_id", "mentee.participant_id")


class ParticipantRefV2(ParticipantRef):
    employee_id: Annotated[Identifier, Personal(by=_BY_SELF, erased=ERASED_ID)]
    display_name: Annotated[
        str, Field(min_length=1, max_length=200), Personal(by=_BY_SELF, erased=ERASED_NAME)
    ]
    email: Annotated[EventEmail, Personal(by=_BY_SELF, erased=ERASED_EMAIL)]


class MatchExplanationV2(MatchExplanation):
    summary: Annotated[str, Personal(by=_BY_PAIR, erased=ERASED_TEXT)] = Field(
        description="Readable reasons; may name both people"
    )


@event("matching.participant.enrolled", version=2, topic=topics.MATCHING_PARTICIPANT, key="participant_id")
class ParticipantEnrolledV2(ParticipantEnrolledV1):
    profile: ParticipantRefV2


@event("matching.participant.updated", version=2, topic=topics.MATCHING_PARTICIPANT, key="participant_id")
class ParticipantUpdatedV2(ParticipantUpdatedV1):
    profile: ParticipantRefV2


@event("matching.participant.withdrawn", version=2, topic=topics.MATCHING_PARTICIPANT, key="participant_id")
class ParticipantWithdrawnV2(ParticipantWithdrawnV1):
    reason: Annotated[str | None, Personal(by=_BY_SELF, erased=ERASED_TEXT)] = None


@event("matching.match.proposed", version=2, topic=topics.MATCHING_PROPOSAL, key="proposal_id")
class MatchProposedV2(MatchProposedV1):
    mentor: ParticipantRefV2
    mentee: ParticipantRefV2
    explanation: MatchExplanationV2


@event("matching.match.declined", version=2, topic=topics.MATCHING_PROPOSAL, key="proposal_id")
class MatchDeclinedV2(MatchDeclinedV1):
    reason: Annotated[str | None, Personal(by=_BY_SELF, erased=ERASED_TEXT)] = None


@event("matching.pair.formed", version=2, topic=topics.MATCHING_PAIR, key="pair_id")
class PairFormedV2(PairFormedV1):
    mentor: ParticipantRefV2
    mentee: ParticipantRefV2
    explanation: MatchExplanationV2


@event("matching.pair.dissolved", version=2, topic=topics.MATCHING_PAIR, key="pair_id")
class PairDissolvedV2(PairDissolvedV1):
    """`dissolved_by` (an employee id, or `erasure`/`matching`) and `reason` are sealed under both people."""

    mentor_id: Identifier
    mentee_id: Identifier
    reason: Annotated[str, Personal(by=("mentor_id", "mentee_id"), erased=ERASED_TEXT)]
    dissolved_by: Annotated[Identifier, Personal(by=("mentor_id", "mentee_id"), erased=ERASED_ID)]
    left_participant_id: Identifier | None = Field(
        default=None,
        description="Set when the pair ended because this one of the two left the company "
        "(matching.person.left): nothing more is sent to them; their partner is told and offered a rematch.",
    )


# -- the company directory: joiners, movers, leavers (SCIM provisioning, HRIS delta files) -----------
# Nothing personal travels: a person is an id; HR reads names in matching's API. Keyed by person id.

DirectorySource = Literal["scim", "hris_file", "scheduler"]


@event("matching.person.joined", version=1, topic=topics.MATCHING_PERSON, key="person_id")
class PersonJoinedV1(EventPayload):
    """A new employee in the company directory: available to the next cohort's enrolment, with the
    fields HR owns (name, e-mail, title, manager, department, region) pre-filled."""

    person_id: Identifier
    department: str | None = Field(default=None, max_length=120)
    region: Region | None = None
    start_date: date | None = None
    source: DirectorySource
    joined_at: datetime


MovedField = Literal["manager", "department", "region", "title", "email", "name", "locale", "timezone"]


@event("matching.person.moved", version=1, topic=topics.MATCHING_PERSON, key="person_id")
class PersonMovedV1(EventPayload):
    """Fields HR owns changed (a new manager or department, say). The person's enrolments are updated
    (each gets matching.participant.updated); when the change makes an active pair break the
    management-chain rule, matching.pair.flagged follows for HR."""

    person_id: Identifier
    changed: list[MovedField] = Field(min_length=1, max_length=8)
    department: str | None = Field(default=None, max_length=120)
    previous_department: str | None = Field(default=None, max_length=120)
    region: Region | None = None
    participant_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    source: DirectorySource
    moved_at: datetime


@event("matching.person.left", version=1, topic=topics.MATCHING_PERSON, key="person_id")
class PersonLeftV1(EventPayload):
    """Left the company (deactivated or deleted by the identity provider, or past the termination
    date an HRIS file gave). In the same transaction every enrolment of theirs is withdrawn
    ("left the company"): open proposals cancelled, formed pairs dissolved with
    `left_participant_id`. No further notification goes to them."""

    person_id: Identifier
    participant_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    cause: Literal["deactivated", "deleted", "terminated"]
    left_on: date
    source: DirectorySource
    left_at: datetime


@event("matching.pair.flagged", version=1, topic=topics.MATCHING_PAIR, key="pair_id")
class PairFlaggedV1(EventPayload):
    """An active pair breaks a hard rule after a person moved (the management-chain exclusion):
    flagged to HR with the reason, never dissolved silently. HR decides (dissolve it through the
    pairs API, or keep it)."""

    pair_id: Identifier
    cohort_id: Identifier
    mentor_id: Identifier
    mentee_id: Identifier
    moved_person_id: Identifier
    rule: Literal["management_chain"]
    reason: str = Field(min_length=1, max_length=500, description="plain language, names no one")
    hr_contact_email: EventEmail | None = None
    flagged_at: datetime
