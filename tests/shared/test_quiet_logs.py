"""Issue 20, item 6: at INFO a service logs one JSON line per meaningful event, with trace ids, and
none of its frameworks' chatter (FastStream's per-message and start-up lines, uvicorn, aiokafka,
httpx). Runs sessions for real (PostgreSQL, Kafka), feeds it one `matching.pair.formed` and reads
what it wrote to stderr: "handled" for the consumed event, "published" for the event it produced."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.events.envelope import build_event
from bridge_shared.messaging.sources import owner_source
from bridge_shared.observability.logging import FRAMEWORK_LOGGERS
from tests.service_harness import publish_event, running_service
from tests.shared.events_for_tests import pair_formed

_CHATTY = ("faststream", "uvicorn", "aiokafka", "kafka", "httpx", "httpcore", "asyncio")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in FRAMEWORK_LOGGERS}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _lines(text: str) -> list[dict[str, Any]]:
    out = []
    for raw in text.splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
    return out


def _is(record: dict[str, Any], verb: str, event_type: str) -> bool:
    message = str(record.get("message", ""))
    return message.startswith(f"{verb} ") and event_type in message.split(" ")[1]


async def test_one_info_line_per_event_with_trace_ids_and_no_framework_chatter(
    admin_dsn: str, bootstrap_servers: str, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    pair_id = f"PAIR-{uuid.uuid4().hex[:8]}"
    async with running_service(
        create_app,
        SessionsSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        log_json=True,
        log_level="INFO",
    ) as svc:
        assert (await svc.client.get("/nowhere")).status_code == 404  # a request, for uvicorn/httpx
        payload = pair_formed(pair_id)
        await publish_event(svc, build_event(payload, source=owner_source(payload.topic)))
        seen: list[dict[str, Any]] = []
        text = ""
        async with asyncio.timeout(30):
            while True:
                text += capsys.readouterr().err
                seen = _lines(text)
                handled = [r for r in seen if _is(r, "handled", "matching.pair.formed")]
                published = [r for r in seen if _is(r, "published", "sessions.relationship.started")]
                if handled and published:
                    break
                await asyncio.sleep(0.2)
    text += capsys.readouterr().err
    seen = _lines(text)
    assert seen, f"no JSON log lines: {text[:500]!r}"

    info = [r for r in seen if r["level"] == "INFO"]
    # FastStream logs through the broker's logger, bridge.<service>.broker (bridge_shared.messaging.broker).
    chatter = [
        r
        for r in info
        if r["logger"].split(".")[0] in _CHATTY or r["logger"] == f"bridge.{svc.settings.service_name}.broker"
    ]
    print("\n".join(f"{r['logger']}: {r['message']}" for r in info))
    assert not chatter, chatter

    handled = [r for r in info if _is(r, "handled", "matching.pair.formed")]
    assert len(handled) == 1, handled  # one line for the one event
    assert handled[0]["trace_id"] and handled[0]["span_id"], handled[0]
    assert (
        handled[0]["event_type"].startswith("com.bridge.matching.pair.formed")
        or "pair.formed" in (handled[0]["event_type"])
    )

    published = [r for r in info if _is(r, "published", "sessions.relationship.started")]
    assert len(published) == 1, published
    assert published[0]["trace_id"] and published[0]["span_id"], published[0]
    # The event sessions published was written while handling the consumed one: the same trace.
    assert published[0]["trace_id"] == handled[0]["trace_id"]
    # No personal data in any line: the made-up people's names and e-mail addresses never appear.
    for person in (payload.mentor, payload.mentee):
        assert person.email not in text and person.display_name not in text
