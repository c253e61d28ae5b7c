"""What every sessions router depends on: the runtime, typed with the sessions settings."""

from __future__ import annotations

from typing import TypeAlias

from bridge_sessions.settings import SessionsSettings
from bridge_shared.runtime import Runtime, runtime_dependency

Rt: TypeAlias = Runtime[SessionsSettings]
get_runtime = runtime_dependency(SessionsSettings)
