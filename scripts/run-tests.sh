#!/usr/bin/env bash
# Runs each test area (tests/<area>/) in its own pytest process with its own embedded PostgreSQL and
# broker. Areas start long-lived service instances that consume shared topics from the beginning, so
# one area's services must never see another area's events. Extra arguments go to every pytest run.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
for area in tests/*/; do
  area=${area%/}
  [ -n "$(find "$area" -name 'test_*.py' -print -quit)" ] || continue
  echo "== $area"
  .tools/bin/uv run pytest "$area" "$@"
  rc=$?
  # 5 = nothing selected in this area (e.g. -m "not e2e"), which is not a failure.
  if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then failed+=("$area"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED areas: ${failed[*]}"
  exit 1
fi
echo "all test areas passed"
