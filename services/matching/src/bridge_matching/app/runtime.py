"""The matching service's runtime type: `Runtime` bound to its settings."""

from __future__ import annotations

from typing import TypeAlias

from bridge_matching.settings import MatchingSettings
from bridge_shared.runtime import Runtime

MatchingRuntime: TypeAlias = Runtime[MatchingSettings]
