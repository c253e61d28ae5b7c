"""The dependencies every router shares: this service's runtime, typed, and the clock."""

from __future__ import annotations

from bridge_notifications.settings import NotificationsSettings
from bridge_shared.runtime import Runtime, get_clock, runtime_dependency

__all__ = ["NotificationsRuntime", "get_clock", "get_runtime"]

NotificationsRuntime = Runtime[NotificationsSettings]
get_runtime = runtime_dependency(NotificationsSettings)
