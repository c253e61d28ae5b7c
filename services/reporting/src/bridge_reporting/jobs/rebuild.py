"""The rebuild's trigger, from the command line (the `bridge-reporting-rebuild` script):

    python -m bridge_reporting.jobs.rebuild [--batch-size N] [--lock-timeout 10s] [--workers N]

`--workers` defaults to the cores this job may run on (at most 4); 1 reads, decodes and writes in this
process.

Rebuilds every read model by replaying the event topics into shadow tables, then swaps them in
atomically while the live consumer keeps running (see `bridge_reporting.app.rebuild`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from bridge_reporting.app.rebuild import RebuildResult, rebuild
from bridge_reporting.settings import ReportingSettings

log = logging.getLogger("bridge_reporting.rebuild")


def _cores() -> int:
    """The cores this process may run on (its CPU set, as a container's cpuset limits it), else all."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


DEFAULT_WORKERS = min(4, _cores())
"""Decoding is the rebuild's bound (one core per process); PostgreSQL and the broker need CPU too, so
more workers than cores gains nothing. On 2 cores 2 workers took a 1M-event rebuild from 87 to 57 s.
Under a CPU quota (a Kubernetes limit) that the CPU set does not show, pass `--workers` to match it."""


MAX_WORKERS = 32


def _workers(text: str) -> int:
    """`--workers`: 1 to MAX_WORKERS (each worker is a process with its own broker and database
    connections)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= n <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_WORKERS}, not {n}")
    return n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="events per transaction")
    parser.add_argument("--lock-timeout", default="10s", help="how long the swap waits for the live tables")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=DEFAULT_WORKERS,
        help="processes that read and decode the topics, each a share of the partitions, while this "
        "one writes; 1 does it all in this process (default: the cores, at most 4: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = ReportingSettings()

    def progress(r: RebuildResult) -> None:
        if r.events and r.events % 100_000 < args.batch_size:
            log.info("rebuild: %d events applied", r.events)

    result = asyncio.run(
        rebuild(
            settings,
            batch_size=args.batch_size,
            lock_timeout=args.lock_timeout,
            progress=progress,
            workers=args.workers,
        )
    )
    readers = f"; read by {result.workers} worker processes" if result.workers else ""
    print(
        f"rebuilt {len(result.rows)} read models from {result.records} records "
        f"({result.events} applied, {result.skipped} of other types, {result.invalid} invalid, "
        f"{result.caught_up} caught up under lock{readers}) in {result.seconds:.1f}s "
        f"({result.events_per_second:.0f} records/s; swap {result.swap_seconds * 1000:.0f} ms)"
    )
    for name, n in result.rows.items():
        print(f"  {name}: {n} rows")


if __name__ == "__main__":
    main()
