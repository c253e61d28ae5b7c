"""Applies events to the read models, set-based: fold the batch (domain/), then one
`INSERT ... SELECT FROM unnest` per table and column set (db/upsert.py).

The live consumer (batch path, one transaction per Kafka batch with the inbox claim) and the
rebuild (app/rebuild.py) share this code; the rebuild only points it at shadow tables (a suffix).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bridge_reporting.app import privacy
from bridge_reporting.db import upsert
from bridge_reporting.domain.projection import fold
from bridge_reporting.domain.tables import PERSON_COLS
from bridge_reporting.domain.upsert import BatchWriter
from bridge_shared.db.connection import Conn
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.events.topics import ALL_EVENT_TOPICS, MATCHING_PRIVACY, PRIVACY_ANSWER_TOPICS

TOPICS = [t for t in ALL_EVENT_TOPICS if t not in (MATCHING_PRIVACY, *PRIVACY_ANSWER_TOPICS)]
"""The topics the read models are projected from (requests and answers of docs/privacy.md are not
read-model facts: erasure requests have their own consumer, app/privacy.py)."""
CONSUMER_NAME = "read_models"
ON_APPLIED = "on_applied"


@dataclass(frozen=True, slots=True)
class OnApplied:
    """An optional hook (benchmarks, probes) told how many events each live batch applied; set it
    with `ServiceDefinition(extras={ON_APPLIED: OnApplied(callback)})`."""

    callback: Callable[[int], None]

    def __call__(self, applied: int) -> None:
        self.callback(applied)


async def write_folded(conn: Conn, batch: BatchWriter, suffix: str = "") -> int:
    """Writes rows already folded elsewhere (a parallel rebuild's worker process), unguarded: the
    rebuild re-applies every erasure before its swap."""
    return await upsert.write(conn, batch, suffix)


async def apply_events(
    conn: Conn, events: Sequence[InboundEvent], suffix: str = "", *, guard: bool = True
) -> int:
    """Applies a batch to the read models (or to the shadow set named by `suffix`), inside the
    caller's transaction (the consumer's, with its inbox claim, or the rebuild's). With `guard`,
    rows the batch wrote about erased people are anonymised again at once (app/privacy.guard); the
    rebuild instead re-applies every erasure once, before its swap."""
    if not events:
        return 0
    batch = fold(events)
    people, pairs = (batch.values(*PERSON_COLS), batch.values("pair_id")) if guard else (set(), set())
    written = await upsert.write(conn, batch, suffix)
    if guard:
        await privacy.guard(conn, people, pairs, suffix)
    return written
