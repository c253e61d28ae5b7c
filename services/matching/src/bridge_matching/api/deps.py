"""FastAPI dependencies of the matching API: the typed runtime and the role checks. (Use cases read
the clock as `rt.clock`, the one `bridge_shared.runtime.get_clock` gives routes.)"""

from __future__ import annotations

from bridge_matching.app.access import ANYONE, HR_READ, HR_WRITE
from bridge_matching.settings import MatchingSettings
from bridge_shared.auth.dependencies import require
from bridge_shared.runtime import runtime_dependency

__all__ = ["anyone", "get_runtime", "hr_read", "hr_write"]

get_runtime = runtime_dependency(MatchingSettings)

hr_write = require(*HR_WRITE)
hr_read = require(*HR_READ)
anyone = require(*ANYONE)
