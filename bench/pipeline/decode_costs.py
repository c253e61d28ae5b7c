"""What one core spends per event before any database or broker work: decoding (CloudEvents
attributes, the body, sealed fields opened, the payload validated) and reporting's fold, in memory,
beside a raw parse of the same bytes in the same run.

    .tools/bin/uv run python bench/pipeline/decode_costs.py [--events 20000] [--repeats 5]

No PostgreSQL, no Kafka: the records are built as the producers write them (bench/reporting/events.py,
bench/pipeline/sessions_pairs.py) and decoded with the functions every consumer decodes with
(bridge_shared.events.envelope: parse_attributes, prepare_payload, finish_payload), every person's
key at hand. Two streams:

  sessions   sealed pair.formed (v2, seven personal fields sealed under the mentor's, the mentee's
             or both keys), what sessions' pair.formed consumer reads;
  reporting  the synthetic programme (about 30 events per pair, v1 as replay.py writes them by
             default), what reporting's consumer and rebuild read, also folded into read-model rows.

Each path is timed `--repeats` times (the median printed), with the service's collector settings
(bridge_shared.gc_tuning). The "ceiling" beside each is 1 / (time per event): the events a second
one core could reach on that work alone, with reading from Kafka, the key vault, the inbox, the
writes and the relay all free. The raw baseline is pydantic-core's JSON parser over the same bodies.
Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reporting"))

from events import Sealer, programme
from pydantic_core import from_json
from sessions_pairs import pair_events

from bridge_reporting.domain.projection import fold
from bridge_shared.events.envelope import (
    InboundEvent,
    OutgoingEvent,
    finish_payload,
    parse_attributes,
    prepare_payload,
)
from bridge_shared.gc_tuning import tune_gc

Record = tuple[tuple[tuple[str, bytes], ...], bytes, str, bytes]


def as_records(events: list[OutgoingEvent]) -> list[Record]:
    """(headers, value, topic, key) as a consumer receives them: header values as bytes."""
    return [
        (tuple((k, v.encode()) for k, v in e.headers.items()), e.value, e.topic, e.key.encode())
        for e in events
    ]


def decode(records: list[Record], keys: dict[str, bytes]) -> list[InboundEvent]:
    out: list[InboundEvent] = []
    for offset, (headers, value, topic, key) in enumerate(records):
        attrs = parse_attributes(headers)
        payload = finish_payload(prepare_payload(attrs, value), keys)
        out.append(InboundEvent(attrs, payload, topic, 0, offset, key.decode()))
    return out


def raw_parse(records: list[Record]) -> None:
    for _, value, _, _ in records:
        from_json(value)


def timed(fn: Callable[[], Any], repeats: int, per: int) -> float:
    """Median microseconds per event of `fn` over `per` events."""
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) / per * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    tune_gc()  # as a service's process has it once started

    sealer = Sealer()
    sessions = as_records(pair_events(args.events, "d", sealer))
    reporting = as_records(list(programme(args.events, run="d")))
    figures: dict[str, Any] = {
        "bench": "pipeline_decode_costs",
        "events": args.events,
        "repeats": args.repeats,
    }
    rows: list[tuple[str, float, float]] = []
    for name, records in (("sessions", sessions), ("reporting", reporting)):
        n = len(records)
        raw_us = timed(lambda r=records: raw_parse(r), args.repeats, n)  # type: ignore[misc]
        decode_us = timed(lambda r=records: decode(r, sealer.keys), args.repeats, n)  # type: ignore[misc]
        figures[f"{name}_raw_parse_us"] = round(raw_us, 1)
        figures[f"{name}_decode_us"] = round(decode_us, 1)
        figures[f"{name}_decode_ceiling_events_per_s"] = round(1e6 / decode_us)
        rows.append((f"{name}: decode", decode_us, raw_us))
    events = decode(reporting, sealer.keys)
    fold_us = timed(lambda: fold(events), args.repeats, len(events))
    both = figures["reporting_decode_us"] + fold_us
    figures["reporting_fold_us"] = round(fold_us, 1)
    figures["reporting_decode_fold_ceiling_events_per_s"] = round(1e6 / both)
    rows.append(("reporting: decode and fold", both, figures["reporting_raw_parse_us"]))

    print(f"\n{args.events:,} events per stream, medians of {args.repeats}, in memory, one core:\n")
    print("| work | us per event | ceiling (events/s, all else free) | raw JSON parse, us | x raw |")
    print("|---|---|---|---|---|")
    for work, us, raw in rows:
        print(f"| {work} | {us:.1f} | {1e6 / us:,.0f} | {raw:.1f} | {us / raw:.1f} |")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
