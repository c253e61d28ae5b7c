"""`bridge-test-infra`: one PostgreSQL and one Apache Kafka for a whole test run.

`make test` starts this once, then runs every test process against it (DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS in the environment). The processes stay apart by names, not by servers:
each gets its own database roles and schemas, its own consumer groups and its own topic prefix
(`kafka_topic_prefix`), and advisory locks are keyed by schema. What the environment already
names is used as it is (`bridge_devstack.infra.start_infra`).

It writes the two variables to `--env-file` once both servers answer, then waits for SIGTERM or
SIGINT and stops what it started.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from bridge_devstack.infra import start_infra


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, required=True, help="data directories of the servers")
    parser.add_argument("--env-file", type=Path, required=True, help="written when the servers are up")
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    args.workdir.mkdir(parents=True, exist_ok=True)
    infra = start_infra(args.workdir, fast=True)
    try:
        tmp = args.env_file.with_suffix(".tmp")
        tmp.write_text(
            f"DATABASE_URL={infra.admin_dsn}\nKAFKA_BOOTSTRAP_SERVERS={infra.bootstrap_servers}\n",
            encoding="utf-8",
        )
        tmp.replace(args.env_file)  # appears whole, so a reader never sees half of it
        print(f"test infrastructure: {infra.description}", flush=True)
        stop.wait()
    finally:
        infra.stop()


if __name__ == "__main__":
    main()
