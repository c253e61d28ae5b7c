"""Applies events to the read models, set-based: fold the batch (domain/), then one
`INSERT ... SELECT FROM unnest` per table and column set (db/upsert.py).

The live consumer (batch path, one transaction per Kafka batch with the inbox claim) and the
rebuild (app/rebuild.py) share this code; the rebuild only points it at shadow tables (a suffix).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bridge_reporting.db import upsert
from bridge_reporting.domain.projection import fold
from bridge_shared.db.connection import Conn
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.events.topics import ALL_EVENT_TOPICS

TOPICS = list(ALL_EVENT_TOPICS)
CONSUMER_NAME = "read_models"
ON_APPLIED = "on_applied"


@dataclass(frozen=True, slots=True)
class OnApplied:
    """An optional hook (benchmarks, probes) told how many events each live batch applied; set it
    with `ServiceDefinition(extras={ON_APPLIED: OnApplied(callback)})`."""

    callback: Callable[[int], None]

    def __call__(self, applied: int) -> None:
        self.callback(applied)


async def apply_events(conn: Conn, events: Sequence[InboundEvent], suffix: str = "") -> int:
    """Applies a batch to the read models (or to the shadow set named by `suffix`), inside the
    caller's transaction (the consumer's, with its inbox claim, or the rebuild's)."""
    if not events:
        return 0
    return await upsert.write(conn, fold(events), suffix)
