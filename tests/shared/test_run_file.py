"""The run file `make up` writes (.run/platform.json) and how its readers treat it: a live file is
used, explicit variables win over it, a stale one is refused with what to do. Pure unit tests: no
platform runs; the pids are this process (alive) and a finished child (gone)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge_devstack import runfile
from bridge_devstack.demo import PlatformNotFound, Reader, locate, score_scale, scored, unreachable_message
from bridge_shared.auth.mint import platform_jwt

SERVICES = {
    "matching": "http://127.0.0.1:18801",
    "sessions": "http://127.0.0.1:18802",
    "notifications": "http://127.0.0.1:18803",
    "reporting": "http://127.0.0.1:18804",
}
JWT = {"secret": "s" * 40, "issuer": "https://issuer.test", "audience": "bridge-test"}


def _info(pid: int, **kw: object) -> runfile.RunInfo:
    return runfile.RunInfo(
        pid=pid, services=dict(SERVICES), environment="development", jwt=dict(JWT), status="ready", **kw
    )  # type: ignore[arg-type]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_bridge_up() -> Iterator[int]:
    """A running process whose command line names bridge-up, as the real one's does."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "bridge-up"])
    yield child.pid
    child.kill()
    child.wait()


def test_the_file_is_written_atomically_private_and_removed_only_by_its_writer(tmp_path: Path) -> None:
    path = runfile.write(_info(12345), tmp_path / "platform.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "it holds the JWT secret"
    assert [p.name for p in tmp_path.iterdir()] == ["platform.json"], "no temporary file is left behind"
    runfile.remove(999, path)  # another bridge-up's pid: not ours to remove
    assert path.exists()
    runfile.remove(12345, path)
    assert not path.exists()


def test_a_stale_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    pid = _dead_pid()
    path = runfile.write(_info(pid), tmp_path / "platform.json")
    with pytest.raises(runfile.StaleRunFile) as stale:
        runfile.read(path)
    assert stale.value.pid == pid
    # The demo does not fall back to the default ports (another stack may hold them): it stops and says why.
    with pytest.raises(PlatformNotFound) as refused:
        locate({"BRIDGE_RUN_DIR": str(tmp_path)})
    message = str(refused.value)
    assert str(path) in message and f"pid {pid}" in message and "make up" in message and "delete" in message
    # bridge-token ignores it (the development settings apply) rather than sign for a dead platform.
    assert platform_jwt({"BRIDGE_RUN_DIR": str(tmp_path)}) == {}


def test_a_pid_reused_by_another_process_is_stale(tmp_path: Path) -> None:
    """After a reboot the pid of a killed bridge-up may be some other live process: still stale."""
    path = runfile.write(_info(os.getpid()), tmp_path / "platform.json")  # pytest, not bridge-up
    with pytest.raises(runfile.StaleRunFile):
        runfile.read(path)
    assert platform_jwt({"BRIDGE_RUN_DIR": str(tmp_path)}) == {}


def test_a_live_file_is_used_and_explicit_variables_win(tmp_path: Path, live_bridge_up: int) -> None:
    token_file = tmp_path / "dev-token"
    token_file.write_text("the-dev-token\n")
    path = runfile.write(_info(live_bridge_up, dev_token_file=str(token_file)), tmp_path / "platform.json")
    env = {"BRIDGE_RUN_DIR": str(tmp_path)}
    target = locate(env)
    assert target.urls == SERVICES
    assert set(target.sources.values()) == {str(path)}
    assert target.token == "the-dev-token" and target.jwt == JWT and not target.starting
    assert platform_jwt(env) == JWT

    target = locate(
        env | {"BRIDGE_SESSIONS_HTTP_PORT": "18999", "BRIDGE_DEMO_REPORTING_URL": "http://reporting.test/"}
    )
    assert target.urls["sessions"] == "http://127.0.0.1:18999"
    assert target.sources["sessions"] == "BRIDGE_SESSIONS_HTTP_PORT"
    assert target.urls["reporting"] == "http://reporting.test"
    assert target.urls["matching"] == SERVICES["matching"]


def test_without_a_file_the_error_names_each_url_where_it_came_from_and_what_to_do(tmp_path: Path) -> None:
    target = locate({"BRIDGE_RUN_DIR": str(tmp_path)})
    assert target.urls["matching"] == "http://127.0.0.1:8001" and target.run_file is None
    message = unreachable_message(target, ["matching"], 10)
    assert "tried http://127.0.0.1:8001/readyz" in message
    assert f"default port; no {tmp_path / 'platform.json'}" in message
    assert "make up" in message and "BRIDGE_RUN_DIR" in message


def test_scores_carry_their_scale_and_dates_the_readers_locale_and_zone() -> None:
    de = Reader.of("de_DE", "Europe/Berlin")
    assert de.moment("2027-01-25T14:03:04.123456+00:00") == "25. Januar 2027, 15:03 (Europe/Berlin)"
    assert de.day("2027-02-01") == "1. Februar 2027"
    us = Reader.of("en_US", "America/New_York")
    assert us.moment("2027-01-25T14:03:04.123456Z") == "January 25, 2027, 9:03\u202fAM (America/New_York)"
    cohort = {
        "policy": {"weights": {"skills_mentor_to_mentee": 3, "availability": 1, "requested_partner": 0}}
    }
    top, how_to_read = score_scale(cohort, us)
    assert top == 4
    assert "out of 4" in how_to_read and "shared working hours (up to 1)" in how_to_read
    assert "a partner they asked for" not in how_to_read, "a criterion weighted 0 does not count"
    assert scored(3, top, de) == "score 3,0 out of 4 (75\u00a0% of the best possible)"
