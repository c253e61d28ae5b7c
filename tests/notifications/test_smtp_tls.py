"""Email over STARTTLS with SMTP AUTH against a real aiosmtpd server that demands both, its certificate
issued by a throwaway CA made per run (`certs.py`, cryptography); and SMTP connection reuse by the dispatcher.

The server requires STARTTLS before anything else, and AUTH (only offered after TLS) before MAIL.
"""

from __future__ import annotations

import asyncio
import mailbox
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, LoginPassword, Session

from bridge_devstack.ports import free_port
from bridge_devstack.smtp_sink import MaildirHandler, password_authenticator
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.certs import make_ca_and_server_cert
from tests.notifications.support import (
    Sink,
    at,
    delivery,
    dispatching,
    notification_events,
    plan_deliveries,
    rows,
    uid,
)
from tests.service_harness import RunningService

pytestmark = pytest.mark.integration

USER, PASSWORD = "bridge-mailer", "s3cret-pass"


# -- an SMTP server requiring STARTTLS and AUTH ---------------------------------------------------------


class RecordingHandler(MaildirHandler):
    """The devstack sink's handler, also noting whether each message came over TLS, authenticated."""

    def __init__(self, box: mailbox.Maildir) -> None:
        super().__init__(box, set())
        self.sessions: list[tuple[bool, str | None]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.sessions.append((session.ssl is not None, login if session.authenticated else None))
        return await super().handle_DATA(server, session, envelope)


@dataclass
class TlsServer:
    port: int
    ca_file: Path
    box: mailbox.Maildir
    handler: RecordingHandler


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    d = tmp_path_factory.mktemp("smtp-tls")
    ca_file, cert_file, key_file = make_ca_and_server_cert(d)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    box = mailbox.Maildir(d / "maildir", create=True)
    handler = RecordingHandler(box)
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_ctx,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=password_authenticator(USER, PASSWORD),
        timeout=2.0,  # closes idle connections quickly: the reuse test relies on it
    )
    controller.start()
    yield TlsServer(port, ca_file, box, handler)
    controller.stop()


def _received(box: mailbox.Maildir, dedup_prefix: str) -> list[str]:
    keys = []
    for key in box.iterkeys():
        raw = box.get_bytes(key).decode(errors="replace")
        for line in raw.splitlines():
            if line.startswith("X-Bridge-Dedup-Key:") and dedup_prefix in line:
                keys.append(line.split(":", 1)[1].strip())
    return keys


def _tls(server: TlsServer, **settings: Any) -> dict[str, Any]:
    """Settings for the STARTTLS + AUTH server, the test CA trusted, the right password."""
    return {
        "smtp_port": server.port,
        "smtp_starttls": True,
        "smtp_ca_file": str(server.ca_file),
        "smtp_username": USER,
        "smtp_password": PASSWORD,
    } | settings


async def _plan(svc: RunningService, clock: FrozenClock, batch: str, n: int = 1) -> list[Any]:
    return await plan_deliveries(
        svc.runtime.pool, clock.now(), batch, n, subject="tls", body="Hello over TLS"
    )


# Clock dates before any other notifications test's, so these drains see only their own due rows.


async def test_starttls_and_auth_deliver_with_the_certificate_verified_against_the_test_ca(
    svc: RunningService, clock: FrozenClock, tls_server: TlsServer
) -> None:
    clock.set(at(2024, 1, 2, 9))
    batch = uid("tls-ok-")
    ids = await _plan(svc, clock, batch, n=3)
    # One at a time, so the second and third reuse the first's connection.
    async with dispatching(svc, clock, **_tls(tls_server, dispatch_batch_size=1)) as d:
        assert await d.drain() == 3
        assert d.email.connections_opened == 1
    got = await rows(svc, "SELECT status, attempts FROM deliveries WHERE cohort_id = $1", batch)
    assert {(r["status"], r["attempts"]) for r in got} == {("sent", 1)}
    assert sorted(_received(tls_server.box, batch)) == sorted(
        f"{batch}-{i}:{batch}-r{i}:email" for i in range(3)
    )
    assert tls_server.handler.sessions[-3:] == [(True, USER)] * 3
    assert [e for e, _ in await notification_events(svc.runtime.pool, ids[0])] == ["sent"]


async def test_wrong_password_is_a_permanent_failure_recorded_and_emitted(
    svc: RunningService, clock: FrozenClock, tls_server: TlsServer
) -> None:
    clock.set(at(2024, 1, 3, 9))
    batch = uid("tls-badpw-")
    [rid] = await _plan(svc, clock, batch)
    async with dispatching(svc, clock, **_tls(tls_server, smtp_password="wrong")) as d:
        await d.drain()
    row = await delivery(svc, rid)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "authentication failed" in row["last_error"] and "535" in row["last_error"]
    [(kind, body)] = await notification_events(svc.runtime.pool, rid)
    assert kind == "failed" and body["permanent"] is True and "535" in body["reason"]
    assert _received(tls_server.box, batch) == []


@pytest.mark.parametrize("with_credentials", [True, False])
async def test_server_requiring_tls_but_client_without_it_is_a_recorded_failure(
    svc: RunningService, clock: FrozenClock, tls_server: TlsServer, with_credentials: bool
) -> None:
    clock.set(at(2024, 1, 4 + int(with_credentials), 9))
    batch = uid("tls-plain-")
    [rid] = await _plan(svc, clock, batch)
    creds: dict[str, Any] = {"smtp_username": USER, "smtp_password": PASSWORD} if with_credentials else {}
    async with dispatching(svc, clock, smtp_port=tls_server.port, smtp_starttls=False, **creds) as d:
        await d.drain()
    row = await delivery(svc, rid)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    reason = row["last_error"]
    if with_credentials:  # AUTH is only offered after STARTTLS
        assert "smtp_starttls" in reason and "AUTH" in reason
    else:  # the server refuses MAIL before STARTTLS
        assert "530" in reason and "STARTTLS" in reason
    [(kind, body)] = await notification_events(svc.runtime.pool, rid)
    assert kind == "failed" and body["permanent"] is True and body["reason"] == reason
    assert _received(tls_server.box, batch) == []


async def test_a_certificate_from_an_untrusted_ca_is_refused(
    svc: RunningService, clock: FrozenClock, tls_server: TlsServer
) -> None:
    """Without smtp_ca_file the system store is used, which does not trust the test CA: no mail goes
    out, and the attempt is recorded (transient: a certificate may be fixed) for a retry."""
    clock.set(at(2024, 1, 6, 9))
    batch = uid("tls-untrusted-")
    [rid] = await _plan(svc, clock, batch)
    async with dispatching(svc, clock, **_tls(tls_server, smtp_ca_file=None)) as d:
        await d.drain()
    row = await delivery(svc, rid)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
    assert _received(tls_server.box, batch) == []
    async with svc.runtime.pool.acquire() as conn:  # not left due for later tests' drains
        await conn.execute("UPDATE deliveries SET status = 'failed' WHERE id = $1", rid)


async def test_a_connection_the_server_closed_while_idle_is_replaced_transparently(
    svc: RunningService, clock: FrozenClock, tls_server: TlsServer
) -> None:
    clock.set(at(2024, 1, 7, 9))
    batch = uid("tls-stale-")
    # smtp_idle_seconds: the pool would reuse the connection; the server has other ideas.
    async with dispatching(svc, clock, **_tls(tls_server, smtp_idle_seconds=3600.0)) as d:
        await _plan(svc, clock, batch + "a")
        assert await d.drain() == 1
        await asyncio.sleep(3.0)  # the server's idle timeout is 2 s (real time: a socket, not the clock)
        await _plan(svc, clock, batch + "b")
        assert await d.drain() == 1
        assert d.email.connections_opened == 2
    got = await rows(svc, "SELECT status, attempts FROM deliveries WHERE cohort_id LIKE $1", batch + "%")
    assert [(r["status"], r["attempts"]) for r in got] == [("sent", 1), ("sent", 1)]
    assert len(_received(tls_server.box, batch)) == 2


async def test_concurrent_sends_share_a_bounded_pool_of_connections(
    svc: RunningService, clock: FrozenClock, sink: Sink
) -> None:
    clock.set(at(2024, 1, 8, 9))
    batch = uid("pool-")
    await _plan(svc, clock, batch, n=40)
    async with dispatching(svc, clock, smtp_pool_size=4, dispatch_batch_size=20) as d:
        assert await d.drain() == 40
        assert 1 <= d.email.connections_opened <= 4
    got = await rows(svc, "SELECT status, attempts FROM deliveries WHERE cohort_id = $1", batch)
    assert {(r["status"], r["attempts"]) for r in got} == {("sent", 1)} and len(got) == 40
    assert len({m["X-Bridge-Dedup-Key"] for m in sink.messages() if batch in m["X-Bridge-Dedup-Key"]}) == 40
