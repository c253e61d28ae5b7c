"""Who the caller is to one relationship, decided service-side from the stored pair: one of the
two participants (and which side), HR for the pair's region, or nobody (404: existence is not
leaked). The use cases apply these rules; the HTTP layer maps the `Problem`s they raise."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.db import relationships as relationships_db
from bridge_sessions.domain.rows import SIDES, RelationshipRow, Side
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.errors import Problem


def side_of(principal: Principal, rel: RelationshipRow) -> Side | None:
    if Role.PARTICIPANT not in principal.roles:
        return None
    return next((side for side in SIDES if principal.subject == rel.employee_id_of(side)), None)


@dataclass(frozen=True, slots=True)
class Access:
    """The caller's standing on one relationship."""

    rel: RelationshipRow
    principal: Principal
    side: Side | None

    @property
    def is_participant(self) -> bool:
        return self.side is not None

    def participant(self) -> Side:
        """The caller's side; 403 unless the caller is one of the two participants."""
        if self.side is None:
            raise Problem(403, "Forbidden", "Only the two participants of this relationship can do this.")
        return self.side

    @property
    def participant_id(self) -> str:
        return self.rel.participant_id_of(self.participant())

    def open(self) -> None:
        if self.rel.status == "closed":
            raise Problem(409, "Relationship closed", "This relationship has ended.")


async def load_access(
    conn: Conn, relationship_id: UUID, principal: Principal, *, for_update: bool = False
) -> Access:
    """404 unless the caller is one of the pair or HR for the pair's region."""
    rel = await relationships_db.get(conn, relationship_id, for_update=for_update)
    if rel is None:
        raise Problem(404, "Relationship not found")
    side = side_of(principal, rel)
    if side is None and not principal.can_see_region(rel.region):
        raise Problem(404, "Relationship not found")
    return Access(rel, principal, side)


async def participant_access(
    conn: Conn,
    relationship_id: UUID,
    principal: Principal,
    *,
    for_update: bool = False,
    open_only: bool = True,
) -> tuple[Access, Side]:
    """A participant acting on the relationship (403 otherwise); 409 once it has closed, if `open_only`."""
    acc = await load_access(conn, relationship_id, principal, for_update=for_update)
    side = acc.participant()
    if open_only:
        acc.open()
    return acc, side
