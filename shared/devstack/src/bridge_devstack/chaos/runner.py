"""One run = one fresh cohort + one fault: drive the workload, let the fault heal, wait (bounded) for
every expected effect, wait (bounded) until nothing is left in flight, then count for good."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge_devstack.chaos.counting import Counter, Effect
from bridge_devstack.chaos.faults import RECOVERY_BOUND, Fault, RunContext
from bridge_devstack.chaos.recovery import Recovery
from bridge_devstack.chaos.stack import Stack
from bridge_devstack.chaos.workload import Driver, Expected, Workload, WorkloadError


@dataclass
class RunResult:
    fault: Fault
    cohort_id: str
    pairs: int
    held: int
    effects: list[Effect]
    # Seconds from the fault's last injection (the baseline: the workload's last call) until every
    # expected effect was observed; None when that did not happen within the bound.
    converge: float | None
    # Seconds from the workload's last call until every expected effect was observed.
    after_driven: float | None
    wall: float
    driver: dict[str, int]
    timings: dict[str, float]
    backlog_left: dict[str, int] = field(default_factory=dict)
    other_emails: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def recover(self) -> float | None:
        """The slowest injection's recovery (None if one did not recover within the bound)."""
        if any(r is None for r in self.fault.recoveries):
            return None
        return max((r for r in self.fault.recoveries if r is not None), default=0.0)

    @property
    def expected(self) -> int:
        return sum(e.expected for e in self.effects)

    @property
    def observed(self) -> int:
        return sum(e.observed for e in self.effects)

    @property
    def lost(self) -> int:
        return sum(e.lost for e in self.effects)

    @property
    def late(self) -> int:
        return sum(e.late for e in self.effects)

    @property
    def duplicated(self) -> int:
        return sum(e.duplicated for e in self.effects)

    @property
    def smtp_window(self) -> int:
        return sum(e.smtp_window for e in self.effects)

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.lost == 0
            and self.duplicated == 0
            and self.smtp_window <= self.fault.smtp_window_allowance
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault.name,
            "cohort_id": self.cohort_id,
            "pairs": self.pairs,
            "held": self.held,
            "expected": self.expected,
            "observed": self.observed,
            "lost": self.lost,
            "late": self.late,
            "duplicated": self.duplicated,
            "smtp_window_duplicates": self.smtp_window,
            "smtp_window_allowed": self.fault.smtp_window_allowance,
            "converge_seconds": None if self.converge is None else round(self.converge, 1),
            "after_last_call_seconds": None if self.after_driven is None else round(self.after_driven, 1),
            "recover_seconds": [None if r is None else round(r, 1) for r in self.fault.recoveries],
            "wall_seconds": round(self.wall, 1),
            "ok": self.ok,
            "error": self.error,
            "fault_log": self.fault.notes,
            "driver": self.driver,
            "backlog_left": self.backlog_left,
            "other_emails": self.other_emails,
            "effects": {e.name: e.as_dict() for e in self.effects},
        }


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_error_text(e) for e in exc.exceptions[:3])
    return f"{type(exc).__name__}: {exc}"


async def run_fault(
    stack: Stack,
    counter: Counter,
    recovery: Recovery,
    fault: Fault,
    *,
    pairs: int,
    held: int,
    bound: float,
    quiet_bound: float,
    say: Callable[[str], None],
) -> RunResult:
    tag = f"c{uuid.uuid4().hex[:7]}"
    driver = Driver(stack.urls(), stack.hr_token)
    workload = Workload(driver, tag=tag, pairs=pairs, held=held, say=say)
    ctx = RunContext(stack, counter, recovery, lambda: workload.expected.cohort_id, tag, say)
    t0 = time.monotonic()
    fault.t0 = t0
    error: str | None = None

    async def hook(checkpoint: str) -> None:
        await fault.at(checkpoint, ctx)

    say(f"[{fault.name}] {fault.title}")
    try:
        await workload.run(hook)
    except (WorkloadError, Exception, BaseExceptionGroup) as exc:  # judged below, never hidden
        error = f"workload stopped: {_error_text(exc)}"
        say(f"  {error}")
    finally:
        await driver.aclose()
    try:
        await fault.healed()
    except Exception as exc:
        error = (error + "; " if error else "") + f"fault did not heal: {_error_text(exc)}"
    t_driven = time.monotonic()
    exp: Expected = workload.expected
    say(
        f"  driven in {t_driven - t0:.1f}s: {len(exp.proposals)} proposals, {len(exp.pairs)} pairs, "
        f"{len(exp.sessions)} sessions ({len(exp.held)} held); driver {driver.stats.as_dict()}"
    )
    for note in fault.notes:
        say(f"  fault: {note}")

    effects: list[Effect] = []
    converged_at: float | None = None
    deadline = t_driven + bound
    if exp.cohort_id:
        # A count that starts within the bound and finds everything has converged; it is timed at
        # its end (the effects were all there by then).
        while time.monotonic() <= deadline:
            try:
                effects = await counter.effects(exp, workload.domain, fault.poison)
            except Exception as exc:  # a source still recovering: try again until the bound
                say(f"  (counting: {_error_text(exc)})")
                effects = []
            if effects and all(e.converged for e in effects):
                converged_at = time.monotonic()
                break
            await asyncio.sleep(max(0.0, min(2.0, deadline - time.monotonic())))

    # Nothing in flight any more (outboxes published, consumers caught up, no delivery due or held
    # under a lease): only then are duplicates final, e.g. an email resent when a dead instance's
    # lease runs out.
    backlog: dict[str, int] = {}
    quiet_deadline = time.monotonic() + quiet_bound
    while exp.cohort_id:
        try:
            backlog = await counter.backlog()
        except Exception as exc:
            backlog = {f"backlog unreadable: {_error_text(exc)}": 1}
        if not backlog or time.monotonic() > quiet_deadline:
            break
        await asyncio.sleep(2.0)
    if backlog:
        say(f"  still in flight after {quiet_bound:.0f}s: {backlog}")
    at_bound = effects
    if exp.cohort_id:
        try:
            effects = await counter.effects(exp, workload.domain, fault.poison)
        except Exception as exc:
            error = (error + "; " if error else "") + f"final count failed: {_error_text(exc)}"
    if converged_at is None:
        # What had not been observed within the bound counts as lost, even if it turned up later.
        missing = {e.name: e.lost for e in at_bound}
        for e in effects:
            late = missing.get(e.name, e.expected) - e.lost
            if late > 0:
                e.late = late
                e.lost += late
                e.evidence.insert(0, f"{late} arrived only after the {bound:.0f}s bound")
    # Recovery watchers run from each injection; by now they have normally finished.
    await fault.recovered(timeout=max(5.0, (fault.injected_at or t0) + RECOVERY_BOUND - time.monotonic()))
    await fault.cleanup(ctx)
    start = fault.injected_at or t_driven
    return RunResult(
        fault=fault,
        cohort_id=exp.cohort_id,
        pairs=len(exp.proposals),
        held=len(exp.held),
        effects=effects,
        converge=None if converged_at is None else converged_at - start,
        after_driven=None if converged_at is None else converged_at - t_driven,
        wall=time.monotonic() - t0,
        driver=driver.stats.as_dict(),
        timings={k: round(v, 1) for k, v in workload.timings.items()},
        backlog_left=backlog,
        other_emails=counter.other_mail.get(workload.domain, {}),
        error=error,
    )
