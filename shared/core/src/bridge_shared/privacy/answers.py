"""What each service does with a data-protection request from matching (docs/privacy.md): the
answer events, and an export section split into parts that each fit in one Kafka record."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from bridge_shared.contracts.privacy import ErasureCompleted, ExportPart
from bridge_shared.outbox.writer import Outbox
from bridge_shared.privacy.vault import VAULT

PART_BUDGET_BYTES = 600_000
"""Plain JSON bytes per export part; sealing adds a third (base64), under the 1 MB event limit."""
MAX_PARTS = 100


def split_section(section: dict[str, Any], budget: int = PART_BUDGET_BYTES) -> list[dict[str, Any]]:
    """A service's export section as parts of at most `budget` JSON bytes each: lists are split
    item by item (each part has the same keys); anything else goes in the first part. A reader
    joins the parts by concatenating each key's lists (`join_parts`)."""
    scalars = {k: v for k, v in section.items() if not isinstance(v, list)}
    parts: list[dict[str, Any]] = [dict(scalars)]
    size = len(json.dumps(scalars, default=str))
    for key, items in section.items():
        if not isinstance(items, list):
            continue
        parts[-1].setdefault(key, [])
        for item in items:
            n = len(json.dumps(item, default=str)) + 2
            if size + n > budget and any(parts[-1].values()):
                if len(parts) >= MAX_PARTS:
                    raise ValueError(f"export section over {MAX_PARTS} parts of {budget} bytes")
                parts.append({})
                size = 0
            parts[-1].setdefault(key, []).append(item)
            size += n
    return parts


def join_parts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for k, v in part.items():
            if isinstance(v, list):
                out.setdefault(k, []).extend(v)
            else:
                out.setdefault(k, v)
    return out


async def send_export(
    conn: asyncpg.Connection[Any],
    outbox: Outbox,
    model: type[ExportPart],
    *,
    export_id: str,
    participant_ids: list[str],
    section: dict[str, Any],
) -> int:
    """Writes the section as `model` events (one per part) in the caller's transaction."""
    chunks = split_section(section)
    payloads = [
        model(
            service=model.model_fields["service"].default,
            export_id=export_id,
            participant_ids=participant_ids,
            chunk=i,
            chunks=len(chunks),
            data=json.loads(json.dumps(chunk, default=str)),
        )
        for i, chunk in enumerate(chunks, start=1)
    ]
    await outbox.add_many(conn, [(p, None) for p in payloads])
    return len(payloads)


async def confirm_erasure(
    conn: asyncpg.Connection[Any],
    outbox: Outbox,
    model: type[ErasureCompleted],
    *,
    erasure_id: str,
    participant_ids: list[str],
    erased: dict[str, int],
    now: datetime,
) -> None:
    """Writes the service's confirmation in the erasure's transaction, and drops the people's cached
    keys (they were destroyed before the request was published)."""
    service = model.model_fields["service"].default
    await outbox.add(conn, model(service=service, erasure_id=erasure_id, completed_at=now, erased=erased))
    VAULT.forget(participant_ids)
