#!/usr/bin/env bash
# Runs each test area (tests/<area>/) in its own pytest process with its own embedded PostgreSQL and
# Kafka. Areas start long-lived service instances that consume shared topics from the beginning, so
# one area's services must never see another area's events. Areas run BRIDGE_TEST_JOBS at a time
# (default 2: most of a test's time is spent waiting on sockets, not on the CPU); each area's output
# is printed whole when it ends. Extra arguments go to every pytest run.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs_max=${BRIDGE_TEST_JOBS:-2}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
started=$(date +%s)
declare -A pid_area=()
failed=()

finish() {  # waits for one area to end, prints its output, records a failure
  local pid rc area
  wait -n -p pid "${!pid_area[@]}"
  rc=$?
  area=${pid_area[$pid]}
  unset "pid_area[$pid]"
  echo "== $area"
  cat "$logs/${area//\//_}.log"
  # 5 = nothing selected in this area (e.g. -m "not e2e"), which is not a failure.
  if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then failed+=("$area"); fi
}

for area in tests/*/; do
  area=${area%/}
  [ -n "$(find "$area" -name 'test_*.py' -print -quit)" ] || continue
  while [ ${#pid_area[@]} -ge "$jobs_max" ]; do finish; done
  .tools/bin/uv run pytest "$area" "$@" > "$logs/${area//\//_}.log" 2>&1 &
  pid_area[$!]=$area
done
while [ ${#pid_area[@]} -gt 0 ]; do finish; done
echo "test areas took $(( $(date +%s) - started )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED areas: ${failed[*]}"
  exit 1
fi
echo "all test areas passed"
