"""Issue 20's "done when": a platform `bridge-up` started on non-default ports, and `bridge-demo` run
with no variable but BRIDGE_RUN_DIR finds it through the run file and speaks to HR.

`bridge-up` runs here exactly as `make up` runs it, with its own embedded PostgreSQL and Kafka on
free ports, not the suite's shared servers: it provisions the services' roles (`bridge_matching`, …,
whose passwords it sets) and its consumers use the services' own group ids, both of which the e2e
platform of this same process uses at the same time. Its own servers keep the two apart.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bridge_devstack.ports import free_port
from bridge_shared.settings import SERVICE_PORTS

pytestmark = pytest.mark.e2e

DEFAULT_PORTS = {*SERVICE_PORTS.values(), 54329, 9092, 9093, 1025, 8025, 8080}
# What the demo must not be handed: everything that could tell it where the platform is, but the run dir.
_LOCATING = re.compile(r"^(BRIDGE_DEMO_.*|BRIDGE_.*_HTTP_PORT|BRIDGE_UP_.*|BRIDGE_JWT_.*)$")
_EXTERNAL_INFRA = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "BRIDGE_NOTIFICATIONS_SMTP_HOST",
    "BRIDGE_INFRA",
)


def _ports() -> dict[str, int]:
    names = [f"BRIDGE_{s.upper()}_HTTP_PORT" for s in (*SERVICE_PORTS, "web")] + [
        "BRIDGE_UP_PG_PORT",
        "BRIDGE_UP_KAFKA_PORT",
        "BRIDGE_UP_KAFKA_CONTROLLER_PORT",
        "BRIDGE_UP_SMTP_PORT",
        "BRIDGE_UP_MAIL_UI_PORT",
    ]
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        port = free_port()
        if port not in DEFAULT_PORTS and port not in ports.values():
            ports[names[len(ports)]] = port
    return ports


@pytest.fixture
def bridge_up(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int], dict[str, object]]]:
    run_dir = tmp_path / "run"
    ports = _ports()
    env = {k: v for k, v in os.environ.items() if k not in _EXTERNAL_INFRA and not _LOCATING.match(k)}
    env |= {"BRIDGE_RUN_DIR": str(run_dir)} | {k: str(v) for k, v in ports.items()}
    log = tmp_path / "bridge-up.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge_devstack.up"],
        env=env,
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run_file = run_dir / "platform.json"
    try:
        deadline = time.monotonic() + 120
        info: dict[str, object] = {}
        while info.get("status") != "ready":
            if proc.poll() is not None:
                pytest.fail(f"bridge-up exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"bridge-up not ready after 120 s:\n{log.read_text()[-3000:]}")
            if run_file.exists():
                info = json.loads(run_file.read_text())
            time.sleep(0.25)
        assert info["pid"] == proc.pid
        yield run_dir, ports, info
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not run_file.exists(), "bridge-up removes the run file when it stops"


def _tool(module: str, run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command as a user types it: no variable that locates the platform but BRIDGE_RUN_DIR."""
    env = {k: v for k, v in os.environ.items() if k not in _EXTERNAL_INFRA and not _LOCATING.match(k)}
    env["BRIDGE_RUN_DIR"] = str(run_dir)
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_the_demo_finds_a_platform_on_other_ports_and_speaks_to_hr(
    bridge_up: tuple[Path, dict[str, int], dict[str, object]],
) -> None:
    run_dir, ports, info = bridge_up
    services = info["services"]
    assert isinstance(services, dict)
    assert services["matching"] == f"http://127.0.0.1:{ports['BRIDGE_MATCHING_HTTP_PORT']}"

    demo = _tool("bridge_devstack.demo", run_dir, "--locale", "de_DE", "--timezone", "Europe/Berlin")
    out = demo.stdout
    assert demo.returncode == 0, f"{out}\n{demo.stderr}"
    assert f"from {run_dir / 'platform.json'}" in out
    assert "8. Reporting: 10 participants" in out
    # Scores with their scale (German decimal comma), the scale explained once.
    assert re.search(r"score \d+,\d out of 10 \(\d+\s%", out), out
    assert "How to read a score" in out and "out of 10" in out
    # Dates in the reader's locale and zone, not ISO timestamps.
    assert "programme 1. Februar 2027 to 30. Juli 2027" in out
    assert re.search(r"to be answered by \d+\. \w+ 20\d\d, \d\d:\d\d \(Europe/Berlin\)", out), out
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", out), "no raw ISO timestamps"
    assert "Why these pairs differ" not in out, "the first run on a fresh platform has nothing to explain"
    # It ends with the web app's address (found through the run file too), which answers there.
    web_url = f"http://127.0.0.1:{ports['BRIDGE_WEB_HTTP_PORT']}"
    assert f"Try it in the web app: {web_url}" in out.strip().splitlines()[-3]
    assert httpx.get(f"{web_url}/signin").status_code == 200

    # A second run: different pairs, and the demo says why.
    again = _tool("bridge_devstack.demo", run_dir, "--locale", "en_GB", "--timezone", "UTC")
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    assert "Why these pairs differ from the first run" in again.stdout
    assert "are not paired again (the cohort's rematch rule" in again.stdout

    # make token signs for the running platform: its token is accepted there.
    token = _tool("bridge_shared.auth.mint", run_dir, "--role", "hr_admin")
    assert token.returncode == 0, token.stderr
    r = httpx.get(
        f"{services['matching']}/cohorts", headers={"Authorization": f"Bearer {token.stdout.strip()}"}
    )
    assert r.status_code == 200 and len(r.json()) == 2
