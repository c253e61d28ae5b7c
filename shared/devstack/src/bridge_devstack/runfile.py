"""`.run/platform.json`: where the platform `make up` started runs, for every other command.

`bridge-up` writes it as soon as it knows its ports (``"status": "starting"``), again when every
service is ready (``"ready"``), and removes it when it stops. `bridge-demo`, `bridge-token`
(`make token`) and the tests read it, so they find that platform on whatever ports it uses.
`BRIDGE_RUN_DIR` moves the directory (default `.run`, relative to where the command runs).

The file is written atomically (a temporary file renamed over it) with mode 0600: it holds the
development JWT secret the platform verifies tokens with. A file whose `bridge-up` process is gone
(killed with SIGKILL, machine rebooted) is *stale*: readers refuse it with `StaleRunFile`, whose
message says what to do, rather than send requests to ports some other process may now hold.

Format (version 1)::

    {"version": 1, "status": "starting" | "ready", "pid": 1234, "started_at": "…Z",
     "environment": "development",
     "services": {"matching": "http://127.0.0.1:8001", "sessions": …, "notifications": …, "reporting": …},
     "mail_url": "http://127.0.0.1:8025" | null, "smtp": "127.0.0.1:1025" | null,
     "kafka_bootstrap_servers": "127.0.0.1:9092", "database_url": "postgresql://…" (admin DSN),
     "jwt": {"issuer": …, "audience": …, "secret": …}, "dev_token_file": ".run/dev-token",
     "logs": ".run/logs"}

`bridge_shared.run_file` reads it for the commands of bridge-shared (`bridge-token`: ``jwt``;
`bridge-dlq`: ``kafka_bootstrap_servers``; `bridge-outbox`: ``database_url``), which cannot import
this package; keep those keys and ``pid`` compatible.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bridge_shared.run_file import bridge_up_alive

RUN_FILE_NAME = "platform.json"
VERSION = 1


def run_dir() -> Path:
    return Path(os.environ.get("BRIDGE_RUN_DIR", ".run"))


def run_file(directory: Path | None = None) -> Path:
    return (directory if directory is not None else run_dir()) / RUN_FILE_NAME


class StaleRunFile(RuntimeError):
    """The run file names a `bridge-up` process that is no longer running."""

    def __init__(self, path: Path, pid: int) -> None:
        self.path = path
        self.pid = pid
        super().__init__(
            f"{path} was written by bridge-up (pid {pid}), which is no longer running: the platform it "
            f"describes has stopped without cleaning up. Start the platform again with `make up` (it "
            f"replaces the file), or delete {path} to fall back to the default ports."
        )


@dataclass
class RunInfo:
    pid: int
    services: dict[str, str]
    environment: str
    jwt: dict[str, str]
    status: str = "starting"
    started_at: str = ""
    mail_url: str | None = None
    smtp: str | None = None
    kafka_bootstrap_servers: str = ""
    database_url: str = ""
    dev_token_file: str = ""
    logs: str = ""
    version: int = VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # Any: room for later keys

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunInfo:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version-{VERSION} run file")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a running `bridge-up` (its command line says so where /proc exists)."""
    return bridge_up_alive(pid)


def write(info: RunInfo, path: Path | None = None) -> Path:
    """Atomically replaces the run file (mode 0600)."""
    target = path or run_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".platform-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(info.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def remove(pid: int, path: Path | None = None) -> None:
    """Removes the run file if it is still the one this process wrote."""
    target = path or run_file()
    with contextlib.suppress(FileNotFoundError, ValueError, TypeError, json.JSONDecodeError):
        if RunInfo.from_json(target.read_text(encoding="utf-8")).pid == pid:
            target.unlink()


def read(path: Path | None = None) -> RunInfo | None:
    """The live platform's run file; None when there is none. Raises StaleRunFile when its
    `bridge-up` is gone, ValueError when it cannot be parsed."""
    target = path or run_file()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        info = RunInfo.from_json(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{target} is not a run file bridge-up wrote ({exc}); delete it and run make up"
        ) from None
    if not pid_alive(info.pid):
        raise StaleRunFile(target, info.pid)
    return info
