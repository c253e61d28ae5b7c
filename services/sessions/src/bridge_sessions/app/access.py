"""Who the caller is to one relationship, decided service-side from the stored pair: one of the
two participants (and which side), HR who sees at least one of the two people (the one region rule,
docs/access.md: each person by their home region), or nobody (404: existence is not leaked). The use
cases apply these rules; the HTTP layer maps the `Problem`s they raise."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.db import relationships as relationships_db
from bridge_sessions.domain.rows import SIDES, RelationshipRow, Side
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.errors import Problem
from bridge_shared.privacy.erased import ERASED_ID


def side_of(principal: Principal, rel: RelationshipRow) -> Side | None:
    # An erased person's employee id is the placeholder ERASED_ID: no token is ever them.
    if Role.PARTICIPANT not in principal.roles or principal.subject == ERASED_ID:
        return None
    return next((side for side in SIDES if principal.subject == rel.employee_id_of(side)), None)


def sees_relationship(principal: Principal, rel: RelationshipRow) -> bool:
    """Rule 3: one of the two, or HR (or service) who sees at least one of them."""
    if side_of(principal, rel) is not None:
        return True
    return scope.is_hr(principal) and scope.sees_shared(principal, rel.regions)


def hidden_sides(principal: Principal, rel: RelationshipRow) -> frozenset[Side]:
    """Sides whose person is outside the caller's scope (regional HR only): shown by id, name and
    region, never their e-mail, time zone or notes."""
    if side_of(principal, rel) is not None or scope.reads_globally(principal):
        return frozenset()
    return frozenset(s for s in SIDES if not scope.sees_region(principal, rel.region_of(s)))


@dataclass(frozen=True, slots=True)
class Access:
    """The caller's standing on one relationship."""

    rel: RelationshipRow
    principal: Principal
    side: Side | None

    @property
    def hidden(self) -> frozenset[Side]:
        return hidden_sides(self.principal, self.rel)

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
    """404 unless the caller is one of the pair or HR who sees at least one of the two people."""
    rel = await relationships_db.get(conn, relationship_id, for_update=for_update)
    if rel is None or not sees_relationship(principal, rel):
        raise Problem(404, "Relationship not found")
    return Access(rel, principal, side_of(principal, rel))


async def participant_access(
    conn: Conn,
    relationship_id: UUID,
    principal: Principal,
    *,
    for_update: bool = False,
    open_only: bool = True,
) -> tuple[Access, Side]:
    """A participant acting on the relationship (403 otherwise); 409 once it has closed, if `open_only`.
    The role is checked before the record (rule 9): HR and service get 403 whatever the relationship."""
    if Role.PARTICIPANT not in principal.roles:
        raise Problem(403, "Forbidden", "Only the two participants of this relationship can do this.")
    acc = await load_access(conn, relationship_id, principal, for_update=for_update)
    side = acc.participant()
    if open_only:
        acc.open()
    return acc, side
