"""Matching's pipeline benchmarks still run (issue 11 found the import one crashing after `run_import`
changed): tiny runs of `bench/matching/import_bench.py` and `bench/matching/end_to_end.py` against
the test database, as their READMEs run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "matching" / "import_bench.py"
END_TO_END = BENCH.with_name("end_to_end.py")


def _run(script: Path, admin_dsn: str, *args: str) -> tuple[str, dict[str, Any]]:
    """Runs a benchmark against the test database; its output and its last line's JSON figures."""
    done = subprocess.run(
        [sys.executable, str(script), *args],
        env={**os.environ, "DATABASE_URL": admin_dsn},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return done.stdout, figures


def test_import_benchmark_runs_and_ends_with_its_json_line(admin_dsn: str) -> None:
    out, figures = _run(BENCH, admin_dsn, "--rows", "300", "--repeats", "1")
    assert figures["bench"] == "matching_import" and figures["rows"] == 300
    for path in (
        "service import",
        "re-import (no changes)",
        "raw COPY",
        "in memory (parse, validate, build events)",
    ):
        assert figures[path]["median_s"] > 0, figures
    assert "inserted 300" in out  # every row went in on the first import


def test_end_to_end_benchmark_runs_and_ends_with_its_json_line(admin_dsn: str) -> None:
    _, figures = _run(END_TO_END, admin_dsn, "--size", "300", "--repeats", "1")
    assert figures["bench"] == "matching_end_to_end" and figures["size"] == 300
    assert figures["draft_pairs"] > 0, figures
    assert figures["end_to_end_s_median"] > 0 and figures["engine_s_median"] > 0, figures


def test_the_decode_costs_benchmark_runs_and_ends_with_its_json_line(admin_dsn: str) -> None:
    """bench/pipeline/decode_costs.py (in memory: the database is not used)."""
    script = BENCH.parents[1] / "pipeline" / "decode_costs.py"
    _, figures = _run(script, admin_dsn, "--events", "300", "--repeats", "1")
    assert figures["bench"] == "pipeline_decode_costs" and figures["events"] == 300
    for key in ("sessions_decode_us", "reporting_decode_us", "reporting_fold_us", "sessions_raw_parse_us"):
        assert figures[key] > 0, figures
