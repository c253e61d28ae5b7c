"""`bridge-chaos`: drive the real platform through faults and count every effect (see docs/CHAOS.md).

    bridge-chaos --profile full      # make chaos: 300 pairs, 100 held sessions, every fault
    bridge-chaos --profile short     # make chaos-short (CI): fewer pairs, every fault
    bridge-chaos --faults kill-notifications,replay --pairs 20 --held 5

Exit status: 0 when nothing was lost or duplicated, 1 when something was (or a run failed), 2 when
the stack could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bridge_devstack.chaos.counting import Counter
from bridge_devstack.chaos.faults import Fault, all_faults
from bridge_devstack.chaos.recovery import Recovery
from bridge_devstack.chaos.report import json_line, table
from bridge_devstack.chaos.runner import RunResult, run_fault
from bridge_devstack.chaos.stack import Stack, start_stack
from bridge_devstack.kafka import KafkaUnavailable

FAULT_ORDER = (
    "none",
    "replay",
    "poison",
    "kill-matching",
    "kill-sessions",
    "kill-notifications",
    "kill-reporting",
    "kill-postgres",
    "kill-broker",
    "kill-1-of-3-brokers",
)


@dataclass(frozen=True)
class Profile:
    pairs: int
    held: int
    faults: tuple[str, ...]
    # Seconds after the workload's last call within which every expected effect must be observed.
    # At 300 pairs notifications alone needs about a minute after the last call with no fault at all
    # (about 2,000 emails through one consumer and a 50/s send rate on 2 cores), so the full profile
    # waits longer; what is still missing then counts as lost either way.
    bound: float


PROFILES = {
    "full": Profile(pairs=300, held=100, faults=FAULT_ORDER, bound=240.0),
    "short": Profile(pairs=40, held=15, faults=FAULT_ORDER, bound=120.0),
}


def say(line: str) -> None:
    print(line, flush=True)


async def _run_on_stack(
    workdir: Path,
    kafka_nodes: int,
    faults: Sequence[Fault],
    *,
    pairs: int,
    held: int,
    bound: float,
    quiet_bound: float,
    results: list[RunResult],
) -> None:
    stack: Stack = await start_stack(workdir, kafka_nodes=kafka_nodes, say=say)
    counter: Counter | None = None
    recovery = Recovery(stack.admin_dsn, stack.bootstrap)
    try:
        counter = Counter(
            stack.admin_dsn, stack.bootstrap, stack.maildir, stack.url("reporting"), stack.hr_token
        )
        await counter.start()
        for fault in faults:
            result = await run_fault(
                stack,
                counter,
                recovery,
                fault,
                pairs=pairs,
                held=held,
                bound=bound,
                quiet_bound=quiet_bound,
                say=say,
            )
            results.append(result)
            say(
                f"  -> lost {result.lost}, duplicated {result.duplicated}, smtp-window {result.smtp_window}, "
                f"converge {'-' if result.converge is None else f'{result.converge:.1f}s'}, "
                f"wall {result.wall:.0f}s: {'ok' if result.ok else 'FAILED'}"
            )
    finally:
        if counter is not None:
            with contextlib.suppress(Exception):
                await counter.aclose()
        with contextlib.suppress(Exception):
            await recovery.aclose()
        await asyncio.to_thread(stack.stop)
        say(f"stack in {workdir} stopped")


async def main_async(args: argparse.Namespace) -> int:
    profile = PROFILES[args.profile]
    names = tuple(args.faults.split(",")) if args.faults else profile.faults
    known = all_faults()
    unknown = [n for n in names if n not in known]
    if unknown:
        say(f"unknown fault(s) {unknown}; known: {', '.join(FAULT_ORDER)}")
        return 2
    pairs = args.pairs or profile.pairs
    held = profile.held if args.held is None else args.held
    bound = args.bound or profile.bound
    workdir: Path = args.workdir
    logging.basicConfig(
        filename=str(workdir / "chaos.log"),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    faults = [known[n]() for n in names]
    by_nodes: dict[int, list[Fault]] = {}
    for f in faults:
        by_nodes.setdefault(f.kafka_nodes, []).append(f)
    say(
        f"bridge-chaos: profile {args.profile}, {pairs} pairs and {held} held sessions per run, faults: "
        f"{', '.join(names)}; converge bound {bound:.0f}s; work dir {workdir}"
    )
    t0 = time.monotonic()
    results: list[RunResult] = []
    try:
        for nodes in sorted(by_nodes):
            await _run_on_stack(
                workdir / f"kafka-{nodes}",
                nodes,
                by_nodes[nodes],
                pairs=pairs,
                held=held,
                bound=bound,
                quiet_bound=args.quiet_bound,
                results=results,
            )
    except KafkaUnavailable as exc:
        say(f"cannot start Kafka: {exc}")
        return 2
    except Exception:
        say("the chaos harness itself failed (not a finding about the platform):")
        say(traceback.format_exc())
        return 2
    finally:
        wall = time.monotonic() - t0
        order = {f: i for i, f in enumerate(faults)}
        results.sort(key=lambda r: order[r.fault])
        if results:
            say(table(results, bound))
            say(f"wall time {wall:.0f}s; logs and data: {workdir}")
            say(
                json_line(
                    results,
                    profile=args.profile,
                    wall=wall,
                    extra={"pairs_per_run": pairs, "held_per_run": held},
                )
            )
    ok = bool(results) and len(results) == len(faults) and all(r.ok for r in results)
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument("--faults", help=f"comma-separated subset of: {', '.join(FAULT_ORDER)}")
    parser.add_argument("--pairs", type=int, help="intended pairs per run (default from the profile)")
    parser.add_argument("--held", type=int, help="held sessions per run (default from the profile)")
    parser.add_argument(
        "--bound",
        type=float,
        help="seconds after the last call to wait for every effect, then it counts as lost "
        "(default: 120 short, 240 full)",
    )
    parser.add_argument(
        "--quiet-bound",
        type=float,
        default=90.0,
        help="seconds to wait for nothing to be in flight before the final count (> the 60 s delivery lease)",
    )
    parser.add_argument("--workdir", type=Path, help="default .run/chaos/<time>; kept when a run fails")
    parser.add_argument("--keep", action="store_true", help="keep the work dir even when everything passed")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir or Path(".run/chaos") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.workdir = workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        code = asyncio.run(main_async(args))
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
