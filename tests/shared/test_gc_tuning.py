"""The garbage collector's settings for a long-running process (bridge_shared.gc_tuning)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared import gc_tuning
from tests.service_harness import running_service


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    frozen = gc_tuning._frozen
    yield
    gc.set_threshold(*threshold)
    gc_tuning._frozen = frozen


@pytest.mark.usefixtures("restored_gc")
def test_the_young_threshold_is_raised_and_the_older_ones_kept() -> None:
    gc.set_threshold(700, 11, 12)
    gc_tuning.tune_gc(50_000, freeze=False)
    assert gc.get_threshold() == (50_000, 11, 12)


@pytest.mark.usefixtures("restored_gc")
def test_what_is_alive_at_start_up_is_frozen_once_per_process() -> None:
    gc_tuning._frozen = False
    gc_tuning.tune_gc(50_000)
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept = [[i] for i in range(1000)]  # tracked containers created after the first call
    gc_tuning.tune_gc(60_000)
    # Not frozen again (a test process starts many apps): the 1,000 new lists are not added. The
    # count can only fall meanwhile, as frozen objects are freed by reference counting.
    assert gc.get_freeze_count() <= frozen
    assert gc.get_threshold()[0] == 60_000
    assert len(kept) == 1000


def test_a_threshold_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        gc_tuning.tune_gc(0)


def test_the_setting_is_bounded_and_read_from_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SessionsSettings().gc_young_threshold == 50_000
    monkeypatch.setenv("BRIDGE_SESSIONS_GC_YOUNG_THRESHOLD", "20000")
    assert SessionsSettings().gc_young_threshold == 20_000
    for bad in ("0", "699", "1000001"):
        monkeypatch.setenv("BRIDGE_SESSIONS_GC_YOUNG_THRESHOLD", bad)
        with pytest.raises(ValidationError, match="gc_young_threshold"):
            SessionsSettings()


@pytest.mark.integration
@pytest.mark.usefixtures("restored_gc")
async def test_a_started_service_runs_with_its_threshold(admin_dsn: str, bootstrap_servers: str) -> None:
    gc.set_threshold(700, 10, 10)
    async with running_service(
        create_app,
        SessionsSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        gc_young_threshold=12_345,
    ):
        assert gc.get_threshold() == (12_345, 10, 10)
        assert gc.get_freeze_count() > 0
