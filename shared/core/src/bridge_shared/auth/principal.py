"""Who is calling, as the token says."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    HR_ADMIN = "hr_admin"
    HR_REGIONAL = "hr_regional"
    PARTICIPANT = "participant"
    SERVICE = "service"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    roles: frozenset[Role]
    regions: frozenset[str] = frozenset()
    name: str | None = None

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_global_hr(self) -> bool:
        return Role.HR_ADMIN in self.roles or Role.SERVICE in self.roles

    def can_see_region(self, region: str) -> bool:
        """HR admins and services see all regions; regional HR only theirs."""
        if self.is_global_hr:
            return True
        return Role.HR_REGIONAL in self.roles and region in self.regions

    def can_see_any_region(self, regions: list[str] | set[str] | frozenset[str]) -> bool:
        return self.is_global_hr or any(self.can_see_region(r) for r in regions)
