"""Reads `.run/platform.json`, where the platform `make up` started runs (bridge_devstack.runfile
writes it and documents the format), for the commands in this package: `bridge-token`, `bridge-dlq`
(Kafka's bootstrap servers) and `bridge-outbox` (the PostgreSQL admin DSN). Their flags and
environment variables win; the file only replaces the hard-wired defaults. `BRIDGE_RUN_DIR` moves
`.run/`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# How a bridge-up process shows in its command line (`uv run bridge-up`, `python -m bridge_devstack.up`).
BRIDGE_UP_NAMES = (b"bridge-up", b"bridge_devstack.up")


def run_file(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if env is None else env)
    return Path(env.get("BRIDGE_RUN_DIR", ".run")) / "platform.json"


def bridge_up_alive(pid: int) -> bool:
    """Whether `pid` is a running `bridge-up`. Where /proc exists its command line must name
    bridge-up: after a reboot the pid of a killed bridge-up may belong to another process."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS) or not readable: the pid check is all there is
    return any(name in cmdline for name in BRIDGE_UP_NAMES)


def running_platform(env: dict[str, str] | None = None, *, tool: str = "bridge") -> dict[str, Any]:
    """The run file of a live `bridge-up` as a dict (Any: a JSON document); {} when there is none.
    A stale or unreadable file is ignored with a note on stderr naming `tool`."""
    path = run_file(env)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"{tool}: ignoring {path} ({exc})", file=sys.stderr)
        return {}
    if not isinstance(data, dict):
        return {}
    if not bridge_up_alive(int(data.get("pid") or 0)):
        print(
            f"{tool}: ignoring the stale {path} (bridge-up pid {data.get('pid')} is gone); "
            "start the platform with make up",
            file=sys.stderr,
        )
        return {}
    return data
