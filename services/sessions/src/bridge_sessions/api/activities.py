"""The library of facilitated circle activities, localised (domain/activities.py): what a facilitator
picks from for a session. Anyone signed in may read it."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bridge_sessions.domain import activities

router = APIRouter(prefix="/activities", tags=["activities"])


class ActivityOut(BaseModel):
    id: str
    locale: str = Field(description="the locale of the texts: the one asked for, its language, else en")
    title: str
    summary: str
    prompts: list[str] = Field(description="questions the facilitator walks the circle through")
    duration_minutes: int = Field(description="what it needs, as a hint for scheduling")


@router.get("", response_model=list[ActivityOut])
async def list_activities(
    locale: str | None = Query(
        None, max_length=16, description=f"one of {', '.join(activities.LOCALES)} (or e.g. de-CH); default en"
    ),
) -> list[ActivityOut]:
    out = []
    for a in activities.ACTIVITIES:
        used, text = a.text(locale)
        out.append(
            ActivityOut(
                id=a.id,
                locale=used,
                title=text.title,
                summary=text.summary,
                prompts=list(text.prompts),
                duration_minutes=a.duration_minutes,
            )
        )
    return out
