"""Who is calling, as the token says."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    HR_ADMIN = "hr_admin"
    HR_REGIONAL = "hr_regional"
    PARTICIPANT = "participant"
    SERVICE = "service"
    # The data protection officer: requests erasures and exports, reads their status (docs/privacy.md).
    PRIVACY_OFFICER = "privacy_officer"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    roles: frozenset[Role]
    regions: frozenset[str] = frozenset()
    name: str | None = None

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))
