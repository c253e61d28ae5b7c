"""Real local servers for the notifications tests: an SMTP sink (aiosmtpd + Maildir, in-process)
and a scriptable chat-webhook HTTP server; event builders; waiting on the service's tables."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import mailbox
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from bridge_devstack.ports import free_port
from bridge_devstack.smtp_sink import MaildirHandler
from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.db import deliveries
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.contracts.matching import MatchExplanation, ParticipantRef
from bridge_shared.events.envelope import build_event
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source
from bridge_shared.scheduling.clock import Clock
from tests.service_harness import RunningService, publish_event


class Sink:
    """The devstack SMTP sink's handler (550 for rejected / @invalid.example) on a real port."""

    def __init__(self, maildir: Path, reject: set[str] | None = None) -> None:
        self.box = mailbox.Maildir(maildir, create=True)
        self.port = free_port()
        self.controller = Controller(
            MaildirHandler(self.box, reject or set()), hostname="127.0.0.1", port=self.port
        )

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def messages(self, to: str | None = None) -> list[email.message.EmailMessage]:
        out = []
        for key in self.box.iterkeys():
            msg = email.message_from_bytes(self.box.get_bytes(key), policy=email.policy.default)
            assert isinstance(msg, email.message.EmailMessage)
            if to is None or to.lower() in msg.get("X-Sink-Rcpt", "").lower():
                out.append(msg)
        return out


class Webhooks:
    """A chat-webhook server: records every POST per path and answers with scripted statuses
    (a list per path, consumed in order; 200 once it is empty)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.answered: dict[str, list[int]] = defaultdict(list)
        self.script: dict[str, list[int]] = defaultdict(list)
        # Called (in the server's thread) before answering a POST to the path: fault injection.
        self.before_answer: dict[str, Callable[[], None]] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook = outer.before_answer.get(self.path)
                if hook is not None:
                    hook()
                with outer.lock:
                    outer.received[self.path].append(json.loads(body or b"{}"))
                    code = outer.script[self.path].pop(0) if outer.script[self.path] else 200
                    outer.answered[self.path].append(code)
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"invalid_payload" if code < 500 else b"oops")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Webhooks:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The part of the Teams message and Adaptive Card 1.4 schemas that the service uses, as closed
# objects: an unknown property, element or action type, or a wrong enum value is an error, as it is
# for Teams (http://adaptivecards.io/schemas/adaptive-card.json; Teams "Format cards").
_TEXT_BLOCK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "text"],
    "properties": {
        "type": {"const": "TextBlock"},
        "text": {"type": "string", "minLength": 1},
        "wrap": {"type": "boolean"},
        "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
        "weight": {"enum": ["Default", "Lighter", "Bolder"]},
        "isSubtle": {"type": "boolean"},
        "spacing": {"enum": ["None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"]},
    },
}
_OPEN_URL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "url", "title"],
    "properties": {
        "type": {"const": "Action.OpenUrl"},
        "url": {"type": "string", "pattern": "^https?://[^\\s]+$"},
        "title": {"type": "string", "minLength": 1},
    },
}
ADAPTIVE_CARD_MESSAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "attachments"],
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["contentType", "content"],
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "version", "body"],
                        "properties": {
                            "$schema": {"const": "http://adaptivecards.io/schemas/adaptive-card.json"},
                            "type": {"const": "AdaptiveCard"},
                            "version": {"const": "1.4"},
                            "body": {"type": "array", "minItems": 1, "items": _TEXT_BLOCK},
                            "actions": {"type": "array", "minItems": 1, "maxItems": 6, "items": _OPEN_URL},
                        },
                    },
                },
            },
        },
    },
}


def adaptive_card(message: dict[str, Any]) -> dict[str, Any]:
    """The card of a Teams webhook message, once the message is checked against the schema above."""
    jsonschema.validate(message, ADAPTIVE_CARD_MESSAGE)
    card: dict[str, Any] = message["attachments"][0]["content"]
    return card


def card_texts(card: dict[str, Any]) -> list[str]:
    return [block["text"] for block in card["body"]]


def uid(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def ref(
    name: str,
    *,
    locale: str = "en",
    tz: str = "Europe/Berlin",
    email_addr: str | None = None,
    pid: str | None = None,
    employee: str | None = None,
) -> ParticipantRef:
    return ParticipantRef(
        participant_id=pid or uid("p-"),
        employee_id=employee or uid("E"),
        display_name=name,
        email=email_addr or f"{uid(name.split()[0].lower() + '.')}@bridge.example",
        region="EMEA",
        department="Finance",
        seniority_level=5,
        timezone=tz,
        locale=locale,
    )


def explanation() -> MatchExplanation:
    return MatchExplanation(score=0.8, breakdown={"skills": 0.9}, summary="Shared interest in data skills")


def invite(method: str = "REQUEST", seq: int = 0) -> s.CalendarInvite:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Bridge//EN\r\nMETHOD:"
        + method
        + "\r\nBEGIN:VEVENT\r\nUID:sess@bridge\r\nSEQUENCE:"
        + str(seq)
        + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return s.CalendarInvite(uid="sess@bridge", sequence=seq, method=method, ics=ics)  # type: ignore[arg-type]


async def publish(svc: RunningService, payload: EventPayload, *, event_id: str | None = None) -> str:
    evt = build_event(payload, source=owner_source(payload.topic), event_id=event_id)
    await publish_event(svc, evt)
    return evt.id


def pair_formed(
    mentor: ParticipantRef | None = None,
    mentee: ParticipantRef | None = None,
    *,
    cohort_id: str | None = None,
    formed_at: datetime | None = None,
    hr: str | None = None,
) -> m.PairFormedV1:
    return m.PairFormedV1(
        pair_id=uid("pair-"),
        cohort_id=cohort_id or uid("c-"),
        mentor=mentor or ref("Aiko Tanaka"),
        mentee=mentee or ref("Lena Vogel"),
        explanation=explanation(),
        formed_at=formed_at or at(2025, 3, 3),
        hr_contact_email=hr,
    )


def session_scheduled(
    p: m.PairFormedV1,
    starts_at: datetime,
    *,
    relationship_id: str | None = None,
    duration_minutes: int = 60,
    location: str | None = None,
) -> s.SessionScheduledV1:
    """A session of the pair `p` (mentor and mentee as in the pair event), with a calendar invite."""
    return s.SessionScheduledV1(
        relationship_id=relationship_id or uid("rel-"),
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        session_id=uid("sess-"),
        mentor_id=p.mentor.participant_id,
        mentee_id=p.mentee.participant_id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        location=location,
        invite=invite(),
    )


async def form_pair(
    svc: RunningService,
    mentor: ParticipantRef | None = None,
    mentee: ParticipantRef | None = None,
    **kw: Any,
) -> tuple[m.PairFormedV1, str]:
    """Publishes pair.formed (see `pair_formed` for `kw`) and waits until it was handled."""
    p = pair_formed(mentor, mentee, **kw)
    eid = await publish(svc, p)
    await processed(svc, eid)
    return p, eid


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def processed(svc: Any, event_id: str) -> None:
    """Waits until the routing consumer has handled (committed) the event."""

    async def done() -> bool:
        async with svc.runtime.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT 1 FROM inbox WHERE event_id = $1", event_id))

    await eventually(done, f"event {event_id} to be processed")


async def rows(svc: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with svc.runtime.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def delivery(svc: Any, delivery_id: Any) -> dict[str, Any]:
    [row] = await rows(svc, "SELECT * FROM deliveries WHERE id = $1", delivery_id)
    return row


async def notification_events(pool: Any, notification_id: Any) -> list[tuple[str, dict[str, Any]]]:
    """The notification.sent / .failed events in the outbox about one delivery: (sent|failed, body)."""
    async with pool.acquire() as conn:
        got = await conn.fetch("SELECT event_type, payload FROM outbox ORDER BY id")
    out = []
    for r in got:
        body = json.loads(bytes(r["payload"]))
        if body.get("notification_id") == str(notification_id):
            out.append((r["event_type"].split(".")[-2], body))
    return out


async def plan_deliveries(
    pool: Any,
    now: datetime,
    batch: str,
    n: int = 1,
    *,
    channel: str = "email",
    to: Callable[[int], str] | None = None,
    subject: str = "n",
    body: str = "x",
    chat_format: str | None = None,
) -> list[uuid.UUID]:
    """`n` due deliveries in cohort `batch` (source events `<batch>-<i>`, recipients `<batch>-r<i>`)."""
    ids = []
    async with pool.acquire() as conn:
        for i in range(n):
            rid = await deliveries.create(
                conn,
                now=now,
                source_event_id=f"{batch}-{i}",
                recipient_id=f"{batch}-r{i}",
                cohort_id=batch,
                channel=channel,
                kind="pair_formed",
                to_address=to(i) if to else f"{batch}-{i}@bridge.example",
                subject=f"{subject} {i}",
                body_text=body,
                body_html=None,
                chat_format=chat_format,
            )
            assert rid is not None
            ids.append(rid)
    return ids


def make_dispatcher(svc: RunningService, clock: Clock, **settings: Any) -> Dispatcher:
    """A dispatcher on the service's pool and outbox, with some settings changed."""
    if isinstance(settings.get("smtp_password"), str):  # model_copy does not validate
        settings["smtp_password"] = SecretStr(settings["smtp_password"])
    base = svc.settings
    assert isinstance(base, NotificationsSettings)
    return Dispatcher(svc.runtime.pool, svc.runtime.outbox, base.model_copy(update=settings), clock)


@asynccontextmanager
async def dispatching(svc: RunningService, clock: Clock, **settings: Any) -> AsyncIterator[Dispatcher]:
    d = make_dispatcher(svc, clock, **settings)
    try:
        yield d
    finally:
        await d.aclose()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
