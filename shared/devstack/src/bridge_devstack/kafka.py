"""Apache Kafka (KRaft) on this machine's Java, from pinned, checksummed jars: no Docker needed.

The distribution is the broker and tools jars named in `kafka_dist/pom.xml`, resolved by Maven
(`mvn --strict-checksums`, so each download is checked against the repository's checksum) and then
checked jar by jar against the SHA-256 list committed in `kafka_dist/sha256sums.txt`. A verified copy
is cached under `~/.cache/bridge/kafka-<version>/` (or `BRIDGE_KAFKA_HOME`), so only the first run
downloads anything.

`KafkaCluster` runs one node (broker and controller in one process) or three on one machine
(replication factor 3, `min.insync.replicas=2`) for fault tests. Data lives on disk under the given
directory, so topics and committed offsets survive a stop and start; a node can be killed with -9 and
started again on the same data.

Secured mode (`KafkaCluster(..., security=secured_config(...))`, docs/security-kafka.md): no
PLAINTEXT listener at all; clients connect with SASL_SSL + SCRAM-SHA-512 (the SCRAM users are
created when the storage is formatted) or with mutual TLS on a second listener (the principal is the
certificate's CN). `StandardAuthorizer` with `allow.everyone.if.no.acl.found=false`: nothing is
allowed without an ACL except to the super users (the admin and the broker itself). Certificates come
from a throwaway CA (bridge_devstack.kafka_tls) as PEM files.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pydantic import SecretStr

from bridge_devstack.kafka_tls import Pki, make_pki
from bridge_devstack.ports import free_port, port_open
from bridge_shared.messaging.security import KafkaClientSettings

DIST = resources.files("bridge_devstack") / "kafka_dist"
KAFKA_VERSION = re.search(r"<kafka.version>([^<]+)<", (DIST / "pom.xml").read_text())[1]  # type: ignore[index]


class KafkaUnavailable(RuntimeError):
    """Kafka cannot be run here; the message says what to install."""


# -- the distribution ---------------------------------------------------------------------------


def kafka_home() -> Path:
    env = os.environ.get("BRIDGE_KAFKA_HOME")
    if env:
        return Path(env)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "bridge" / f"kafka-{KAFKA_VERSION}"


def _expected_sums() -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in (DIST / "sha256sums.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            sums[name] = digest
    return sums


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _lock_digest() -> str:
    return hashlib.sha256((DIST / "sha256sums.txt").read_bytes()).hexdigest()


def java_major_version(java: str = "java") -> int | None:
    exe = shutil.which(java)
    if exe is None:
        return None
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match[1])
    return int(match[2] or 0) if major == 1 else major


def check_java() -> None:
    version = java_major_version()
    if version is None or version < 17:
        found = "no `java` on PATH" if version is None else f"Java {version}"
        raise KafkaUnavailable(
            f"Apache Kafka needs Java 17 or newer ({found}). Install it with `make deps` "
            "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven), or point "
            "KAFKA_BOOTSTRAP_SERVERS at an existing Kafka."
        )


def _resolve_with_maven(target: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaUnavailable(
            "Fetching Apache Kafka needs Maven (`mvn`) once. Install it with `make deps` "
            "(Debian/Ubuntu: apt-get install maven), or point KAFKA_BOOTSTRAP_SERVERS at an existing Kafka."
        )
    with tempfile.TemporaryDirectory(prefix="bridge-kafka-pom-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text((DIST / "pom.xml").read_text())
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "--strict-checksums",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={target}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise KafkaUnavailable(f"mvn could not fetch Apache Kafka {KAFKA_VERSION}:\n{result.stdout[-3000:]}")


def verify(libs: Path) -> list[str]:
    """Problems with a distribution directory against the committed checksums (empty when good)."""
    expected = _expected_sums()
    present = {p.name for p in libs.glob("*.jar")}
    problems = [f"missing {name}" for name in sorted(set(expected) - present)]
    problems += [f"unexpected {name}" for name in sorted(present - set(expected))]
    for name in sorted(set(expected) & present):
        if _sha256(libs / name) != expected[name]:
            problems.append(f"checksum mismatch: {name}")
    return problems


def ensure_distribution() -> Path:
    """The verified jar directory, fetched on first use. Safe to call from concurrent processes."""
    check_java()
    home = kafka_home()
    libs = home / "libs"
    marker = home / "VERIFIED"
    if marker.exists() and marker.read_text().strip() == _lock_digest():
        return libs
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / f".{home.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text().strip() == _lock_digest():
            return libs
        staging = Path(tempfile.mkdtemp(prefix=f".{home.name}-", dir=home.parent))
        try:
            print(f"Fetching Apache Kafka {KAFKA_VERSION} (once; cached in {home}) ...", flush=True)
            _resolve_with_maven(staging / "libs")
            problems = verify(staging / "libs")
            if problems:
                raise KafkaUnavailable(
                    "the fetched Kafka jars do not match kafka_dist/sha256sums.txt: " + "; ".join(problems)
                )
            (staging / "VERIFIED").write_text(_lock_digest() + "\n")
            if home.exists():
                shutil.rmtree(home)
            staging.rename(home)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return libs


def write_lock() -> None:
    """Maintainers: resolve the pom afresh and write sha256sums.txt (review the diff before committing)."""
    check_java()
    with tempfile.TemporaryDirectory() as tmp:
        libs = Path(tmp) / "libs"
        _resolve_with_maven(libs)
        lines = [f"{_sha256(p)}  {p.name}" for p in sorted(libs.glob("*.jar"))]
    target = Path(str(DIST / "sha256sums.txt"))
    header = f"# SHA-256 of every jar of Apache Kafka {KAFKA_VERSION} as resolved from kafka_dist/pom.xml\n"
    target.write_text(header + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} checksums to {target}")


# -- running it ---------------------------------------------------------------------------------


def _java_command(libs: Path, main: str, *args: str, heap_mb: int = 256, quick: bool = True) -> list[str]:
    """`quick` JITs with C1 only: a short-lived tool or a test broker starts in about half the CPU
    time on a 2-core machine; long-running brokers (make up, benchmarks) get the full JIT."""
    return [
        "java",
        *(["-XX:TieredStopAtLevel=1"] if quick else []),
        f"-Xms{heap_mb}m",
        f"-Xmx{heap_mb}m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={DIST / 'log4j2.yaml'}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaSecurityConfig:
    """A secured local cluster: its CA and certificates, and the SCRAM users made at format time."""

    pki: Pki
    users: dict[str, str]  # SCRAM-SHA-512 username -> password
    admin: str = "admin"
    broker_principal: str = "kafka-broker"  # the CN of the broker's own certificate

    @property
    def super_users(self) -> list[str]:
        return [f"User:{self.admin}", f"User:{self.broker_principal}"]


def secured_config(
    directory: Path, *, users: Iterable[str] = (), client_cns: Iterable[str] = (), admin: str = "admin"
) -> KafkaSecurityConfig:
    """Certificates under `directory` and a random password for the admin and each of `users`."""
    pki = make_pki(directory, broker_cn="kafka-broker", client_cns=tuple(client_cns))
    names = [admin, *[u for u in users if u != admin]]
    return KafkaSecurityConfig(pki, {name: secrets.token_hex(16) for name in names}, admin=admin)


@dataclass
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    tls_port: int = 0  # secured mode: the mutual-TLS listener

    @property
    def config(self) -> Path:
        return self.data_dir.parent / f"node-{self.node_id}.properties"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"node-{self.node_id}.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class KafkaCluster:
    """One or three KRaft nodes (each broker + controller) on 127.0.0.1, data under `workdir`."""

    workdir: Path
    nodes: int = 1
    port: int | None = None
    controller_port: int | None = None
    heap_mb: int = 0
    # Test clusters: C1-only JIT for a faster start (see _java_command).
    fast: bool = False
    security: KafkaSecurityConfig | None = None
    members: list[KafkaNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.nodes not in (1, 3):
            raise ValueError("a local cluster has 1 or 3 nodes")
        self.workdir = self.workdir.resolve()
        self.heap_mb = self.heap_mb or (512 if self.nodes == 1 else 320)
        ports = self._ports()
        for i in range(self.nodes):
            port, cport = ports[i]
            self.members.append(KafkaNode(i + 1, port, cport, self.workdir / f"node-{i + 1}"))
        if self.security is not None:
            saved = self.workdir / "tls-ports"
            tls = [int(p) for p in saved.read_text().split()] if saved.exists() else []
            if len(tls) != self.nodes:
                tls = [free_port() for _ in self.members]
                saved.write_text(" ".join(map(str, tls)))
            for node, tls_port in zip(self.members, tls, strict=True):
                node.tls_port = tls_port

    def _ports(self) -> list[tuple[int, int]]:
        """Ports are kept in the workdir, so a restarted cluster listens where it did before."""
        saved = self.workdir / "ports"
        if saved.exists():
            pairs = [tuple(map(int, line.split())) for line in saved.read_text().split("\n") if line]
            if len(pairs) == self.nodes and (self.port is None or pairs[0][0] == self.port):
                return [(p[0], p[1]) for p in pairs]
        fresh: list[tuple[int, int]] = []
        for i in range(self.nodes):
            port = self.port if (i == 0 and self.port) else free_port()
            cport = self.controller_port if (i == 0 and self.controller_port) else free_port()
            fresh.append((port, cport))
        self.workdir.mkdir(parents=True, exist_ok=True)
        saved.write_text("".join(f"{p} {c}\n" for p, c in fresh))
        return fresh

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.members)

    @property
    def tls_bootstrap_servers(self) -> str:
        """Secured mode: the mutual-TLS listener (SSL, a client certificate is required)."""
        return ",".join(f"127.0.0.1:{n.tls_port}" for n in self.members)

    @property
    def replication_factor(self) -> int:
        return self.nodes

    def client_security(self, user: str | None = None, *, cert: str | None = None) -> KafkaClientSettings:
        """Client settings for a secured cluster: SASL_SSL as SCRAM `user` (on `bootstrap_servers`),
        or mutual TLS with the client certificate of CN `cert` (on `tls_bootstrap_servers`)."""
        sec = self.security
        if sec is None:
            return KafkaClientSettings(kafka_security_protocol="PLAINTEXT")
        if cert is not None:
            files = sec.pki.clients[cert]
            return KafkaClientSettings(
                kafka_security_protocol="SSL",
                kafka_ssl_cafile=str(sec.pki.ca),
                kafka_ssl_certfile=str(files.cert),
                kafka_ssl_keyfile=str(files.key),
            )
        name = user or sec.admin
        return KafkaClientSettings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username=name,
            kafka_sasl_password=SecretStr(sec.users[name]),
            kafka_ssl_cafile=str(sec.pki.ca),
        )

    def _secured_properties(self, node: KafkaNode) -> dict[str, object]:
        sec = self.security
        assert sec is not None
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        return {
            "listeners": (
                f"SASL_SSL://127.0.0.1:{node.port},MTLS://127.0.0.1:{node.tls_port},"
                f"CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{node.port},MTLS://127.0.0.1:{node.tls_port}",
            # No PLAINTEXT anywhere: the controller and replication links are mutual TLS too.
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,MTLS:SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "MTLS",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": sec.pki.broker.keystore,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": sec.pki.ca,
            # Certificates are required on the TLS listeners, not on SASL_SSL (SCRAM authenticates).
            "ssl.client.auth": "required",
            "listener.name.sasl_ssl.ssl.client.auth": "none",
            # The principal of a certificate is its CN (User:bridge-x, not User:CN=bridge-x).
            "ssl.principal.mapping.rules": "RULE:^CN=([^,]+)$/$1/,DEFAULT",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": ";".join(sec.super_users),
            "allow.everyone.if.no.acl.found": "false",
        }

    def _properties(self, node: KafkaNode) -> str:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.members)
        rf = self.nodes
        isr = 2 if self.nodes == 3 else 1
        props = {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": node.data_dir,
            # Services create their topics; a typo must not silently create a new one.
            "auto.create.topics.enable": "false",
            "num.partitions": 3,
            "default.replication.factor": rf,
            "min.insync.replicas": isr,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 10,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "transaction.state.log.num.partitions": 5,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": isr,
            # Groups form at once instead of waiting 3 s for more members.
            "group.initial.rebalance.delay.ms": 0,
            # Sized for a 2-core machine.
            "num.network.threads": 2,
            "num.io.threads": 4,
            "num.replica.fetchers": 1,
            "background.threads": 4,
            "log.cleaner.threads": 1,
            "num.recovery.threads.per.data.dir": 1,
            "log.segment.bytes": 64 * 1024 * 1024,
            "log.retention.hours": 168,
            "replica.lag.time.max.ms": 10000,
            "controlled.shutdown.enable": "true",
        }
        if self.security is not None:
            props.update(self._secured_properties(node))
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _format(self, node: KafkaNode, libs: Path, cluster_id: str) -> None:
        node.config.write_text(self._properties(node))
        if (node.data_dir / "meta.properties").exists():
            return
        node.data_dir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            _java_command(
                libs,
                "kafka.tools.StorageTool",
                "format",
                # One argument: a base64 id may start with "-", which argparse would take for an option
                # (1 start in 64 failed with "argument --cluster-id/-t: expected one argument").
                f"--cluster-id={cluster_id}",
                "-c",
                str(node.config),
                *self._scram_arguments(),
                heap_mb=128,
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed:\n{result.stdout}\n{result.stderr}")

    def _scram_arguments(self) -> list[str]:
        """SCRAM credentials are cluster metadata: written into the log when the storage is formatted."""
        if self.security is None:
            return []
        return [
            f"--add-scram=SCRAM-SHA-512=[name={name},password={password}]"
            for name, password in self.security.users.items()
        ]

    def start(self, timeout: float = 60.0) -> KafkaCluster:
        libs = ensure_distribution()
        id_file = self.workdir / "cluster.id"
        if not id_file.exists():
            id_file.write_text(_cluster_id())
        cluster_id = id_file.read_text().strip()
        for node in self.members:
            self._format(node, libs, cluster_id)
        for node in self.members:
            self._launch(node, libs)
        for node in self.members:
            self._wait(node, timeout)
        return self

    def _launch(self, node: KafkaNode, libs: Path) -> None:
        busy = [p for p in (node.port, node.controller_port) if port_open(p)]
        if busy:
            raise RuntimeError(f"cannot start Kafka node {node.node_id}: port(s) {busy} already in use")
        out = node.log_file.open("ab")
        node.proc = subprocess.Popen(
            _java_command(libs, "kafka.Kafka", str(node.config), heap_mb=self.heap_mb, quick=self.fast),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()

    def _wait(self, node: KafkaNode, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.proc is not None and node.proc.poll() is not None:
                tail = node.log_file.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Kafka node {node.node_id} exited with {node.proc.returncode}:\n{tail}")
            if port_open(node.port):
                return
            time.sleep(0.1)
        raise TimeoutError(f"Kafka node {node.node_id} not listening after {timeout}s")

    # -- fault injection and lifecycle --------------------------------------------------------------

    def kill(self, index: int = 0) -> None:
        """kill -9 one node (0-based index), as a crash would."""
        node = self.members[index]
        if node.proc is not None and node.proc.poll() is None:
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait()

    def start_node(self, index: int = 0, timeout: float = 60.0) -> None:
        """Starts a stopped or killed node again on its data."""
        node = self.members[index]
        if node.running:
            return
        self._launch(node, ensure_distribution())
        self._wait(node, timeout)

    def stop_node(self, index: int, timeout: float = 30.0) -> None:
        node = self.members[index]
        if node.proc is None or node.proc.poll() is not None:
            return
        node.proc.terminate()
        try:
            node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait()

    def stop(self) -> None:
        for node in self.members:
            if node.running:
                assert node.proc is not None
                node.proc.terminate()
        for i in range(len(self.members)):
            self.stop_node(i)


def run_tool(main_class: str, args: list[str]) -> int:
    """Runs one of Kafka's own command-line tools (e.g. TopicCommand) from the cached distribution."""
    libs = ensure_distribution()
    with contextlib.suppress(KeyboardInterrupt):
        return subprocess.call(_java_command(libs, main_class, *args, heap_mb=256))
    return 130
