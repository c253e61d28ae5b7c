#!/usr/bin/env bash
# Runs the whole suite against ONE PostgreSQL and ONE Apache Kafka (bridge-test-infra), in
# BRIDGE_TEST_JOBS pytest-xdist workers (default 3: most of a test's time is spent waiting on sockets,
# not on the CPU). Test processes stay apart by names: each has its own roles and schemas, consumer
# groups and topic prefix (tests/service_harness.py), and advisory locks are keyed by schema. Each test
# file runs whole on one worker (its module fixtures start services once); tests/e2e runs on one worker
# (it starts the platform's four processes under their real names). DATABASE_URL and
# KAFKA_BOOTSTRAP_SERVERS, when both are set, point the run at existing servers instead.
# Extra arguments go to pytest (e.g. -m "not e2e", -k name, tests/sessions).
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
if [ -z "${DATABASE_URL:-}" ] || [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  infra_dir=$(mktemp -d)
  .tools/bin/uv run bridge-test-infra --workdir "$infra_dir/data" --env-file "$infra_dir/env" \
    >"$infra_dir/log" 2>&1 &
  infra_pid=$!
  trap 'kill -TERM "$infra_pid" 2>/dev/null; wait "$infra_pid" 2>/dev/null; rm -rf "$infra_dir"' EXIT
  for _ in $(seq 1 900); do
    [ -f "$infra_dir/env" ] && break
    kill -0 "$infra_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ ! -f "$infra_dir/env" ]; then
    cat "$infra_dir/log"
    echo "the test infrastructure did not start"
    exit 1
  fi
  cat "$infra_dir/log"
  set -a
  # shellcheck disable=SC1091
  . "$infra_dir/env"
  set +a
fi
.tools/bin/uv run pytest -n "${BRIDGE_TEST_JOBS:-3}" --dist loadgroup "$@"
rc=$?
echo "tests took $(( $(date +%s) - started )) s"
exit $rc
