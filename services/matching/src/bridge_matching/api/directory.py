"""The company directory for HR: read it, and enrol a person from it (app/directory.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bridge_matching.api.deps import get_runtime, hr_read, hr_write
from bridge_matching.api.schemas import ParticipantOut, participant_out
from bridge_matching.app import directory
from bridge_matching.app.directory import DirectoryEntry
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain.directory import LeftCause, Source
from bridge_matching.domain.profile import (
    MAX_BLOCKED,
    MAX_LANGUAGES,
    MAX_REQUESTED,
    MAX_SKILLS,
    MAX_WINDOWS,
    Window,
)
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.common import Locale, Role, TimeZoneName
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import Offset, QueryIdentifier, QueryText
from bridge_shared.types import Identifier, Tag

router = APIRouter(tags=["directory"])


class DirectoryPersonOut(BaseModel):
    """One person of the company directory: what the identity provider or the HRIS says (`record`'s
    fields), and whether they are still with the company."""

    id: UUID
    employee_id: str
    user_name: str | None
    external_id: str | None
    display_name: str
    given_name: str | None
    family_name: str | None
    email: str
    title: str | None
    department: str | None
    manager_employee_id: str | None
    region: str | None
    seniority_level: int | None
    locale: str | None
    timezone: str | None
    start_date: date | None
    termination_date: date | None
    active: bool
    status: Literal["live", "left"] = Field(
        description="left: deactivated, deleted or past the termination date"
    )
    left_at: datetime | None
    left_cause: LeftCause | None
    version: int = Field(description="grows with every change of the entry")
    source: Source = Field(description="what wrote the entry last")
    created_at: datetime
    updated_at: datetime


def person_out(entry: DirectoryEntry) -> DirectoryPersonOut:
    return DirectoryPersonOut(
        **entry.record.model_dump(),
        id=entry.id,
        status="live" if entry.left_at is None else "left",
        left_at=entry.left_at,
        left_cause=entry.left_cause,
        version=entry.version,
        source=entry.source,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    )


class FromDirectoryIn(BaseModel):
    """The person, and the fields a participant owns; the rest (name, e-mail, department, manager,
    region, seniority) comes from the directory. `timezone` and `locale` default to the directory's."""

    model_config = ConfigDict(extra="forbid")

    person_id: UUID
    role: Role
    languages: list[Tag] = Field(min_length=1, max_length=MAX_LANGUAGES)
    timezone: TimeZoneName | None = Field(default=None, max_length=64)
    locale: Locale | None = None
    availability: list[Window] | None = Field(default=None, max_length=MAX_WINDOWS)
    skills_to_share: list[Tag] | None = Field(default=None, max_length=MAX_SKILLS)
    skills_to_learn: list[Tag] | None = Field(default=None, max_length=MAX_SKILLS)
    meeting_preference: Literal["in_person", "video", "either"] | None = None
    capacity: int | None = Field(default=None, ge=1, le=10)
    requested_partners: list[Identifier] | None = Field(default=None, max_length=MAX_REQUESTED)
    blocked_partners: list[Identifier] | None = Field(default=None, max_length=MAX_BLOCKED)


@router.get("/directory/people", response_model=list[DirectoryPersonOut], responses=problems(403))
async def list_people(
    employee_id: QueryIdentifier | None = None,
    q: QueryText | None = Query(None, description="part of the name, e-mail, employee id or user name"),
    status_: Literal["live", "left"] | None = Query(None, alias="status"),
    joined_since: date | None = Query(
        None, description="start date (or, without one, the day the entry was created) on or after this"
    ),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
    principal: Principal = Depends(hr_read),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[DirectoryPersonOut]:
    """HR: the people of the company directory, by name; regional HR see their regions' people."""
    found = await directory.people(
        rt,
        principal,
        employee_id=employee_id,
        q=q,
        status=status_,
        joined_since=joined_since,
        limit=limit,
        offset=offset,
    )
    return [person_out(e) for e in found]


@router.get("/directory/people/{person_id}", response_model=DirectoryPersonOut, responses=problems(403, 404))
async def get_person(
    person_id: UUID,
    principal: Principal = Depends(hr_read),
    rt: MatchingRuntime = Depends(get_runtime),
) -> DirectoryPersonOut:
    return person_out(await directory.person(rt, principal, person_id))


@router.post(
    "/cohorts/{cohort_id}/participants/from-directory",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipantOut,
    responses=problems(403, 404, 409),
)
async def enrol_from_directory(
    cohort_id: UUID,
    body: FromDirectoryIn,
    response: Response,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> ParticipantOut:
    """Enrols (or updates) a person of the directory with the fields HR owns filled in from it. 201
    when new, 200 otherwise; 409 when the person has left; 422 naming a field the directory lacks."""
    own = body.model_dump(exclude={"person_id"}, exclude_none=True)
    done = await directory.enrol_from_directory(rt, principal, cohort_id, body.person_id, own)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return participant_out(done.participant, done.cohort.skill_taxonomy)
