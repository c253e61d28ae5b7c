"""Pure privacy rules of notifications (docs/privacy.md): who counts as erased in an event, what an
outcome's reason may say, how a stored message is redacted, and the export's readable summary."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bridge_shared.contracts.circles import CircleMember
from bridge_shared.contracts.matching import ParticipantRef
from bridge_shared.privacy.erased import ERASED_NAME, ERASED_TEXT, is_erased_email
from bridge_shared.privacy.redaction import redact, redact_json

EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)
ADDRESS_SHOWN = "<address>"


def is_erased_ref(ref: ParticipantRef | CircleMember) -> bool:
    """A participant as an event describes them (a pair's person, a circle's member), opened after
    their key was destroyed."""
    return is_erased_email(ref.email) or ref.display_name == ERASED_NAME


def unless_erased(value: Any) -> Any:
    """None for a free-text field that opened as the erased placeholder (never shown in a message)."""
    return None if value == ERASED_TEXT else value


def scrub_reason(reason: str, *, channel: str, address: str) -> str:
    """An outcome's reason as it may leave the service (notification.failed, the delivery log): no
    e-mail address (an SMTP server's answer often quotes the recipient), and a chat webhook URL (a
    credential) only as its host."""
    out = reason
    if channel == "chat" and address:
        parts = urlsplit(address)
        out = out.replace(address, f"{parts.scheme}://{parts.netloc}/…")
        for secret in (parts.path, parts.query):
            if secret and secret != "/":
                out = out.replace(secret, "…")
    return EMAIL.sub(ADDRESS_SHOWN, out)


# -- redacting what other people were sent ----------------------------------------------------------


def like_patterns(needles: Iterable[str]) -> list[str]:
    """ILIKE patterns finding any needle as a substring (a superset of `redact`'s whole words)."""
    return ["%" + n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for n in needles if n]


def unfold_ics(text: str) -> str:
    """RFC 5545 lines are folded at 75 octets; a name or address may be split across a fold."""
    return text.replace("\r\n ", "").replace("\r\n\t", "")


def redact_attachments(attachments: Sequence[dict[str, Any]], needles: Sequence[str]) -> list[dict[str, Any]]:
    """Each stored attachment with the person removed: its text fields, and its content (base64 of
    a calendar object naming both attendees), decoded, unfolded, redacted and encoded again."""
    out: list[dict[str, Any]] = []
    for att in attachments:
        redacted = redact_json({k: v for k, v in att.items() if k != "content_b64"}, needles)
        encoded = att.get("content_b64")
        if isinstance(encoded, str):
            try:
                text = base64.b64decode(encoded, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                redacted["content_b64"] = ""  # unreadable, so it cannot be checked: dropped
            else:
                cleaned = redact(unfold_ics(text), needles)
                redacted["content_b64"] = encoded if cleaned == text else _b64(cleaned)
        out.append(redacted)
    return out


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@dataclass(frozen=True, slots=True)
class StoredText:
    """The free text of one stored delivery or inbox item (None where the column has none)."""

    subject: str
    body: str
    body_html: str | None = None
    address: str | None = None
    last_error: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()


def redact_stored(text: StoredText, needles: Sequence[str]) -> StoredText:
    def opt(v: str | None) -> str | None:
        return redact(v, needles) if v is not None else None

    return StoredText(
        subject=redact(text.subject, needles),
        body=redact(text.body, needles),
        body_html=opt(text.body_html),
        address=opt(text.address),
        last_error=opt(text.last_error),
        attachments=tuple(redact_attachments(text.attachments, needles)),
    )


# -- export ----------------------------------------------------------------------------------------


def export_summary(
    *,
    recipients: int,
    preferences: bool,
    deliveries: Sequence[dict[str, Any]],
    inbox: Sequence[dict[str, Any]],
) -> list[str]:
    """Readable sentences about what notifications holds about the person."""
    by_status: dict[str, int] = {}
    for d in deliveries:
        by_status[str(d.get("status"))] = by_status.get(str(d.get("status")), 0) + 1
    unread = sum(1 for i in inbox if i.get("read_at") is None)
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    return [
        f"{recipients} enrolment{'s' if recipients != 1 else ''} known as a recipient (name, e-mail, "
        "language, time zone and region, as matching told us).",
        "Your own notification preferences are stored."
        if preferences
        else "No own notification preferences.",
        f"{len(deliveries)} e-mail/chat notification{'s' if len(deliveries) != 1 else ''} in the delivery log"
        + (f" ({statuses})." if statuses else "."),
        f"{len(inbox)} item{'s' if len(inbox) != 1 else ''} in your in-app inbox ({unread} unread).",
    ]
