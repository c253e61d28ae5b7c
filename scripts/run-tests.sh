#!/usr/bin/env bash
# Runs the suite against ONE PostgreSQL and ONE Apache Kafka (bridge-test-infra). Test processes stay
# apart by names: each has its own roles and schemas, consumer groups and topic prefix
# (tests/service_harness.py), and advisory locks are keyed by schema. Two runs share the servers:
#   - everything but tests/e2e in BRIDGE_TEST_JOBS pytest-xdist workers (default 3: most of a test's
#     time is spent waiting on sockets, not on the CPU), each test file whole on one worker;
#   - tests/e2e and tests/web in one process beside them: their platform (one, shared) runs the four
#     services under their real names and roles, so two of them must never run at once.
# Arguments go to pytest; paths among them choose what runs (e.g. tests/sessions, or -m "not e2e").
# DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS, when both are set, point the run at existing servers.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
if [ -z "${DATABASE_URL:-}" ] || [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  # The servers start while pytest starts and collects; the tests' `infra` fixture waits for the
  # addresses in BRIDGE_TEST_INFRA_ENV_FILE.
  infra_dir=$(mktemp -d)
  .tools/bin/uv run bridge-test-infra --workdir "$infra_dir/data" --env-file "$infra_dir/env" \
    >"$infra_dir/log" 2>&1 &
  infra_pid=$!
  trap 'kill -TERM "$infra_pid" 2>/dev/null; wait "$infra_pid" 2>/dev/null; rm -rf "$infra_dir"' EXIT
  export BRIDGE_TEST_INFRA_ENV_FILE="$infra_dir/env"
  (
    while [ ! -f "$infra_dir/env" ] && kill -0 "$infra_pid" 2>/dev/null; do sleep 0.2; done
    cat "$infra_dir/log"
    # If it died, the fixtures would wait in vain: stop the run.
    [ -f "$infra_dir/env" ] || { echo "the test infrastructure did not start"; kill -TERM $$; }
  ) &
fi
paths=()
options=()
for arg in "$@"; do
  if [ -e "${arg%%::*}" ]; then paths+=("$arg"); else options+=("$arg"); fi
done
[ ${#paths[@]} -gt 0 ] || paths=(tests)
unit=()
e2e=()
for path in "${paths[@]}"; do
  case "${path%/}" in
    tests) unit+=(tests --ignore=tests/e2e --ignore=tests/web); e2e+=(tests/e2e tests/web) ;;
    tests/e2e | tests/e2e/* | tests/web | tests/web/*) e2e+=("$path") ;;
    *) unit+=("$path") ;;
  esac
done
logs=$(mktemp -d)
rc=0
e2e_pid=
if [ ${#e2e[@]} -gt 0 ]; then
  .tools/bin/uv run pytest "${e2e[@]}" "${options[@]}" >"$logs/e2e.log" 2>&1 &
  e2e_pid=$!
fi
if [ ${#unit[@]} -gt 0 ]; then
  .tools/bin/uv run pytest -n "${BRIDGE_TEST_JOBS:-3}" --dist loadfile "${unit[@]}" "${options[@]}"
  unit_rc=$?
  # 5 = nothing selected (e.g. -m e2e), which is not a failure.
  [ $unit_rc -eq 0 ] || [ $unit_rc -eq 5 ] || rc=1
fi
if [ -n "$e2e_pid" ]; then
  wait "$e2e_pid"
  e2e_rc=$?
  echo "== tests/e2e and tests/web (one process, beside the workers)"
  cat "$logs/e2e.log"
  [ $e2e_rc -eq 0 ] || [ $e2e_rc -eq 5 ] || rc=1
fi
rm -rf "$logs"
echo "tests took $(( $(date +%s) - started )) s"
exit $rc
