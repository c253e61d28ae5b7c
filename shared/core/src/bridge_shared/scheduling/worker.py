"""The one loop every piece of background work runs in: the outbox relay, the notification
dispatcher, the periodic jobs, the pruner and matching's job sweeper.

A `Worker` repeats a *tick* (an async function that returns True when there is more to do at
once). After a tick with nothing more it waits for a wake-up (`wake()`, or a PostgreSQL NOTIFY on
`listen`) or for `poll_seconds`, whichever comes first. A tick that raises is logged and retried
with tenacity's random exponential backoff (`initial`, doubling, at most `max`), so a database or
broker outage neither spins nor stops the loop. `stop()` (or `stop_when()` turning true) ends it
between ticks and cuts short any wait or backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Backoff:
    """Random exponential backoff (tenacity's `wait_random_exponential`): the n-th consecutive
    failure waits a random time in [0, min(max, initial * 2^n)]."""

    initial: float = 0.2
    max: float = 10.0

    def wait(self) -> wait_random_exponential:
        return wait_random_exponential(multiplier=self.initial, max=self.max)

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1-based) of work whose attempts are stored, not
        looped over (a delivery row's next try): the same tenacity strategy, outside a retry loop."""
        # tenacity types retry_object as required; its wait strategies read only attempt_number.
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = max(attempt, 1)
        return float(self.wait()(state))


class _Stopped(Exception):
    pass


def _retryable(exc: BaseException) -> bool:
    # Cancellation (a BaseException) and stopping end the loop; every other error is retried.
    return isinstance(exc, Exception) and not isinstance(exc, _Stopped)


class Worker:
    def __init__(
        self,
        name: str,
        tick: Tick,
        *,
        poll_seconds: float | None,
        listen: tuple[str, str] | None = None,
        backoff: Backoff = Backoff(),
        stop_when: Callable[[], bool] | None = None,
        wake_event: asyncio.Event | None = None,
        retry: Callable[[BaseException], bool] = _retryable,
        on_failure: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        """`poll_seconds` None waits only for wake-ups; `listen` is (dsn, channel) to LISTEN on;
        `wake_event` lets an owner that already receives notifications share its event; `retry`
        says which tick errors are backed off and retried (the rest end `run()` by raising);
        `on_failure` hears each retried error."""
        self.name = name
        self.tick = tick
        self.poll_seconds = poll_seconds
        self.listen = listen
        self.backoff = backoff
        self.stop_when = stop_when
        self.retry = retry
        self.on_failure = on_failure
        self._wake = wake_event or asyncio.Event()
        self._interrupt = asyncio.Event()
        self._stopped = False
        self._listener: asyncpg.Connection[Any] | None = None
        self.ticks = 0
        self.failures = 0

    def wake(self) -> None:
        """There may be work: run a tick now instead of at the next poll."""
        self._wake.set()

    def interrupt(self) -> None:
        """Re-check `stop_when` now, even during a wait or a backoff."""
        self._interrupt.set()
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self.interrupt()

    @property
    def stopping(self) -> bool:
        return self._stopped or (self.stop_when is not None and self.stop_when())

    async def run(self) -> None:
        try:
            while not self.stopping:
                self._wake.clear()
                try:
                    more = await self._tick_until_success()
                except _Stopped:
                    return
                if self.stopping:
                    return
                if not more:
                    await self._wait(self.poll_seconds, self._wake)
        finally:
            await self._close_listener()

    async def _tick_until_success(self) -> bool:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(lambda exc: not isinstance(exc, _Stopped) and self.retry(exc)),
            wait=self.backoff.wait(),
            sleep=self._backoff_sleep,
            before_sleep=self._log_failure,
            reraise=True,
        ):
            with attempt:
                if self.stopping:
                    raise _Stopped
                await self._ensure_listener()
                more = await self.tick()
                self.ticks += 1
                return more
        raise AssertionError("unreachable: AsyncRetrying either returns or re-raises")

    async def _backoff_sleep(self, seconds: float) -> None:
        self._interrupt.clear()
        await self._wait(seconds, self._interrupt)
        if self.stopping:
            raise _Stopped

    async def _wait(self, seconds: float | None, event: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)

    def _log_failure(self, state: RetryCallState) -> None:
        self.failures += 1
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "%s failed (attempt %d), retrying in %.2fs: %r",
            self.name,
            state.attempt_number,
            state.upcoming_sleep,
            exc,
            exc_info=exc if not isinstance(exc, (OSError, asyncpg.PostgresError)) else None,
        )
        if self.on_failure is not None:
            self.on_failure(exc)
        # A failed tick may have left the listener unusable; reconnect on the next attempt.
        if self._listener is not None and self._listener.is_closed():
            self._listener = None

    async def _ensure_listener(self) -> None:
        if self.listen is None or (self._listener is not None and not self._listener.is_closed()):
            return
        dsn, channel = self.listen
        conn = await asyncpg.connect(dsn)
        await conn.add_listener(channel, lambda *_: self._wake.set())
        self._listener = conn

    async def _close_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
        self._listener = None
