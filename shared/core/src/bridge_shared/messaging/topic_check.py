"""Readiness: do the topics a service needs (publishes, consumes, its dead letters) exist on the broker?

A broker that lost its topics (a wiped cluster, a deleted topic, auto-creation off) answers pings
but refuses every produce and fetch; /readyz must say so and name them. One long-lived admin client
reads cluster metadata; results are cached briefly so /readyz stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient

from bridge_shared.messaging.client_security import client_kwargs
from bridge_shared.messaging.security import KafkaSecuritySettings


class TopicCheck:
    def __init__(
        self,
        bootstrap_servers: str,
        topics: Iterable[str],
        *,
        client_id: str = "bridge-readiness",
        cache_seconds: float = 10.0,
        timeout: float = 2.0,
        security: KafkaSecuritySettings | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = sorted(set(topics))
        self.client_id = client_id
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.security = security
        self._admin: AIOKafkaAdminClient | None = None
        self._lock = asyncio.Lock()
        self._checked_at = -float("inf")
        self._ttl = 0.0
        self._missing: list[str] = []
        self._error: Exception | None = None

    async def missing(self) -> list[str]:
        """The required topics the broker does not have; raises when the broker cannot tell."""
        async with self._lock:  # one metadata request at a time, shared by concurrent probes
            if time.monotonic() - self._checked_at >= self._ttl:
                try:
                    async with asyncio.timeout(self.timeout):
                        existing = set(await (await self._client()).list_topics())
                    self._missing, self._error = [t for t in self.topics if t not in existing], None
                    # A healthy answer is cached for the full period, a bad one briefly, so a
                    # restored broker is seen soon.
                    self._ttl = self.cache_seconds if not self._missing else min(self.cache_seconds, 2.0)
                except Exception as exc:
                    await self._reset()
                    self._missing, self._error = [], exc
                    self._ttl = min(self.cache_seconds, 2.0)
                self._checked_at = time.monotonic()
            if self._error is not None:
                raise self._error
            return list(self._missing)

    async def _client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                request_timeout_ms=int(self.timeout * 1000),
                **client_kwargs(self.security),
            )
            try:
                await admin.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await admin.close()
                raise
            self._admin = admin
        return self._admin

    async def _reset(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()

    async def close(self) -> None:
        await self._reset()
