"""Who the caller is to one circle, decided service-side from the stored members (as app/access.py
does for pairs): one of its current members (the facilitator among them), HR who sees at least one of
its members (the one region rule, docs/access.md: each person by their home region), or nobody (404:
existence is not leaked). Members act on their circle; the facilitator also picks activities and
records held sessions; HR and service only read."""

from __future__ import annotations

from dataclasses import dataclass

from bridge_sessions.db import Conn
from bridge_sessions.db import circles as circles_db
from bridge_sessions.domain.circle_rows import CircleMemberRow, CircleRow
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.errors import Problem
from bridge_shared.privacy.erased import ERASED_ID

NOT_A_MEMBER = "Only the circle's members can do this."
NOT_THE_FACILITATOR = "Only the circle's facilitator can do this."


def member_of(principal: Principal, circle: CircleRow) -> CircleMemberRow | None:
    # An erased person's employee id is the placeholder ERASED_ID: no token is ever them.
    if Role.PARTICIPANT not in principal.roles or principal.subject == ERASED_ID:
        return None
    return circle.member_for_employee(principal.subject)


def sees_circle(principal: Principal, circle: CircleRow) -> bool:
    """Rule 3: a member, or HR (or service) who sees at least one of the members."""
    if member_of(principal, circle) is not None:
        return True
    return scope.is_hr(principal) and scope.sees_shared(principal, circle.regions)


def hidden_members(principal: Principal, circle: CircleRow) -> frozenset[str]:
    """Members (participant ids) outside the caller's scope (regional HR only): shown by id, name,
    region and generation, never their time zone or e-mail address."""
    if member_of(principal, circle) is not None or scope.reads_globally(principal):
        return frozenset()
    return frozenset(
        m.participant_id for m in circle.active_members if not scope.sees_region(principal, m.region)
    )


@dataclass(frozen=True, slots=True)
class CircleAccess:
    """The caller's standing on one circle."""

    circle: CircleRow
    principal: Principal
    me: CircleMemberRow | None

    @property
    def hidden(self) -> frozenset[str]:
        return hidden_members(self.principal, self.circle)

    @property
    def is_member(self) -> bool:
        return self.me is not None

    @property
    def is_facilitator(self) -> bool:
        return self.me is not None and self.me.participant_id == self.circle.facilitator_id

    @property
    def participant_id(self) -> str:
        """The caller's participant id; 403 unless a member."""
        if self.me is None:
            raise Problem(403, "Forbidden", NOT_A_MEMBER)
        return self.me.participant_id

    def facilitator(self) -> str:
        """The caller's participant id; 403 unless the facilitator."""
        if not self.is_facilitator:
            raise Problem(403, "Forbidden", NOT_THE_FACILITATOR)
        return self.participant_id

    def open(self) -> None:
        if self.circle.status == "closed":
            raise Problem(409, "Circle closed", "This circle has ended.")


async def load_circle_access(
    conn: Conn, circle_id: str, principal: Principal, *, for_update: bool = False
) -> CircleAccess:
    """404 unless the caller is a member or HR who sees at least one member."""
    circle = await circles_db.get(conn, circle_id, for_update=for_update)
    if circle is None or not sees_circle(principal, circle):
        raise Problem(404, "Circle not found")
    return CircleAccess(circle, principal, member_of(principal, circle))


async def member_access(
    conn: Conn,
    circle_id: str,
    principal: Principal,
    *,
    for_update: bool = False,
    open_only: bool = True,
    facilitator: bool = False,
) -> CircleAccess:
    """A member (with `facilitator`, the facilitator) acting on the circle, 403 otherwise; 409 once it
    has closed, if `open_only`. The role is checked before the record (rule 9): HR and service get 403
    whatever the circle."""
    if Role.PARTICIPANT not in principal.roles:
        raise Problem(403, "Forbidden", NOT_THE_FACILITATOR if facilitator else NOT_A_MEMBER)
    acc = await load_circle_access(conn, circle_id, principal, for_update=for_update)
    if facilitator:
        acc.facilitator()
    else:
        _ = acc.participant_id
    if open_only:
        acc.open()
    return acc
