"""The HRIS import benchmark still runs (issue 11 found it crashing after `run_import` changed): a
tiny run of `bench/matching/import_bench.py` against the test database, as its README runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "matching" / "import_bench.py"


def test_import_benchmark_runs_and_ends_with_its_json_line(admin_dsn: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "300", "--repeats", "1"],
        env={**os.environ, "DATABASE_URL": admin_dsn},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "matching_import" and figures["rows"] == 300
    for path in ("service import", "re-import (no changes)", "raw COPY"):
        assert figures[path]["median_s"] > 0, figures
    assert "inserted 300" in done.stdout  # every row went in on the first import
