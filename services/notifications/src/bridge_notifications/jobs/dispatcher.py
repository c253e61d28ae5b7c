"""The dispatcher loop: the shared `Worker` around `Dispatcher.tick` (one batch of due deliveries).

Woken by NOTIFY notifications_dispatch when a row is created due now, and polling every
`dispatch_poll_seconds` for scheduled ones; a full batch is followed by the next one at once.
"""

from __future__ import annotations

from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.worker import Worker


def dispatch_worker(dispatcher: Dispatcher, settings: NotificationsSettings) -> Worker:
    return Worker(
        f"{settings.service_name} dispatcher",
        dispatcher.tick,
        poll_seconds=settings.dispatch_poll_seconds,
        listen=(settings.database_url, "notifications_dispatch"),
    )


async def run_dispatcher(rt: Runtime[NotificationsSettings]) -> None:
    dispatcher = Dispatcher(rt.pool, rt.outbox, rt.settings, rt.clock)
    rt.extras["dispatcher"] = dispatcher  # read with rt.component("dispatcher", Dispatcher)
    try:
        await dispatch_worker(dispatcher, rt.settings).run()
    finally:
        await dispatcher.aclose()
