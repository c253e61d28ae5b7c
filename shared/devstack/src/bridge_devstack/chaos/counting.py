"""Counting effects against what the workload expects, from outside the services.

Sources, none of them the services' own say-so where an independent one exists:

- the topics (a plain consumer reading every event and dead-letter topic from the start, without a
  group): which event id is which proposal / pair / session, and the dead letters;
- the SMTP sink's maildir: every email that reached the SMTP server, with its recipient, its
  Message-ID and its `X-Bridge-Dedup-Key` (`<event id>[#kind]:<recipient>:<channel>`);
- the databases, through the admin DSN (a fault harness may read them): pairs in matching,
  relationships and sessions in sessions, planned reminders in notifications, outbox backlogs;
- reporting's HTTP API: the figures HR sees for the cohort.

An email is identified logically by (kind, the proposal / pair / session it is about, recipient).
Two copies of one logical email are a duplicate; if both carry the same Message-ID they are the
documented SMTP window (a crash between the SMTP server accepting a message and the outcome being
recorded resends it) and are counted apart.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import logging
import os
import time
from collections import Counter as Multiset
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from bridge_devstack.chaos.recovery import KafkaProbe
from bridge_devstack.chaos.workload import Expected
from bridge_shared.contracts import matching as mc
from bridge_shared.contracts import sessions as sc
from bridge_shared.db.provision import SERVICES
from bridge_shared.events.topics import ALL_EVENT_TOPICS, dead_letter_topic

log = logging.getLogger("bridge.chaos.counting")

DLQ_TOPICS = tuple(dead_letter_topic(s) for s in SERVICES)
POISON_KEY_PREFIX = "chaos-poison:"

# The first notification kind the routing table gives each event type (services/notifications
# domain/routing.py); a second notification from the same event carries `#kind` in its dedup key.
# Both versions of a family: history is v1, producers write v2 (personal fields sealed).
KIND_OF_TYPE = {
    mc.MatchProposedV1.event_type: "match_proposed",
    mc.MatchProposedV2.event_type: "match_proposed",
    mc.PairFormedV1.event_type: "pair_formed",
    mc.PairFormedV2.event_type: "pair_formed",
    sc.SessionScheduledV1.event_type: "session_scheduled",
    sc.SessionScheduledV2.event_type: "session_scheduled",
    sc.SessionRescheduledV1.event_type: "session_rescheduled",
    sc.SessionRescheduledV2.event_type: "session_rescheduled",
    sc.SessionCancelledV1.event_type: "session_cancelled",
    sc.SessionCancelledV2.event_type: "session_cancelled",
    sc.RelationshipEndingSoonV1.event_type: "ending_soon",
    sc.PairClosedV1.event_type: "closing_survey",
    sc.PairClosedV2.event_type: "closing_survey",
}
# What each email kind is about: the payload field naming it.
SUBJECT_FIELD = {
    "match_proposed": "proposal_id",
    "pair_formed": "pair_id",
    "session_scheduled": "session_id",
    "session_reminder": "session_id",
}
EMAIL_KINDS = ("match_proposed", "pair_formed", "session_scheduled")


# -- effects ------------------------------------------------------------------------------------


@dataclass
class Effect:
    name: str
    expected: int
    observed: int
    lost: int
    duplicated: int
    smtp_window: int = 0
    evidence: list[str] = field(default_factory=list)
    late: int = 0  # of `lost`: observed, but only after the converge bound

    @property
    def converged(self) -> bool:
        return self.lost == 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "expected": self.expected,
            "observed": self.observed,
            "lost": self.lost,
            "duplicated": self.duplicated,
        }
        if self.smtp_window:
            out["smtp_window_duplicates"] = self.smtp_window
        if self.late:
            out["late"] = self.late
        if self.evidence:
            out["evidence"] = self.evidence[:10]
        return out


def keyed_effect(name: str, expected: Iterable[Any], observed: Iterable[Any]) -> Effect:
    """Expected keys vs observed keys (a multiset): missing ones are lost, extra copies and keys
    nobody asked for are duplicates."""
    want = set(expected)
    seen = Multiset(observed)
    lost = sorted(str(k) for k in want - seen.keys())
    dups = {k: n - 1 for k, n in seen.items() if k in want and n > 1}
    extra = {k: n for k, n in seen.items() if k not in want}
    ev = [f"lost {k}" for k in lost[:5]]
    ev += [f"{n + 1} copies of {k}" for k, n in list(dups.items())[:5]]
    ev += [f"unexpected {k} (x{n})" for k, n in list(extra.items())[:5]]
    return Effect(
        name, len(want), sum(seen.values()), len(lost), sum(dups.values()) + sum(extra.values()), 0, ev
    )


def count_effect(name: str, expected: int, observed: int | None, note: str = "") -> Effect:
    if observed is None:
        return Effect(name, expected, 0, expected, 0, 0, [note or "not readable"])
    return Effect(name, expected, observed, max(0, expected - observed), max(0, observed - expected))


# -- the topics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventInfo:
    type: str
    cohort_id: str | None
    subject: dict[str, str]


@dataclass(frozen=True)
class Letter:
    service: str
    key: str
    event_id: str
    error: str
    error_class: str
    original_topic: str
    cohort_id: str | None
    offset: int


def _headers(rec: Any) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (rec.headers or ())}


def _json(value: bytes | None) -> dict[str, Any] | None:
    try:
        data = json.loads(value or b"")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class KafkaTail:
    """Reads every event and dead-letter topic from the start, incrementally, without a group."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumer: AIOKafkaConsumer | None = None
        self.partitions: list[TopicPartition] = []
        self.events: dict[str, EventInfo] = {}
        self.copies: Multiset[str] = Multiset()  # records per event id (relay resends, replays)
        self.letters: list[Letter] = []

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="bridge-chaos-tail",
        )
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()
            tps = [
                TopicPartition(t, p)
                for t in (*ALL_EVENT_TOPICS, *DLQ_TOPICS)
                for p in sorted(consumer.partitions_for_topic(t) or ())
            ]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
        except BaseException:
            await consumer.stop()
            raise
        self.consumer = consumer
        self.partitions = tps

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None

    async def end_offsets(self, tps: list[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        assert self.consumer is not None
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(tps or self.partitions)
        return ends

    async def catch_up(self, timeout: float = 30.0) -> bool:
        """Reads up to the end offsets as of now. False if it could not get there in time."""
        assert self.consumer is not None
        deadline = time.monotonic() + timeout
        ends = await self.end_offsets()
        while True:
            behind = [tp for tp, end in ends.items() if await self.consumer.position(tp) < end]
            if not behind:
                return True
            if time.monotonic() > deadline:
                return False
            batch = await self.consumer.getmany(*behind, timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for rec in records:
                    self._take(tp.topic, rec)

    def _take(self, topic: str, rec: Any) -> None:
        headers = _headers(rec)
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else ""
        if topic in DLQ_TOPICS:
            data = _json(rec.value)
            self.letters.append(
                Letter(
                    service=topic.rsplit(".", 1)[1],
                    key=key,
                    event_id=headers.get("ce_id", ""),
                    error=headers.get("dlq_error", ""),
                    error_class=headers.get("dlq_error_class", ""),
                    original_topic=headers.get("dlq_original_topic", ""),
                    cohort_id=str(data.get("cohort_id")) if data and data.get("cohort_id") else None,
                    offset=rec.offset,
                )
            )
            return
        eid = headers.get("ce_id")
        if not eid or key.startswith(POISON_KEY_PREFIX):
            return
        self.copies[eid] += 1
        if eid in self.events:
            return
        data = _json(rec.value) or {}
        subject = {
            f: str(data[f])
            for f in ("proposal_id", "pair_id", "session_id", "relationship_id", "participant_id")
            if data.get(f) is not None
        }
        cohort = data.get("cohort_id")
        self.events[eid] = EventInfo(headers.get("ce_type", ""), str(cohort) if cohort else None, subject)


# -- the mail sink ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    file: str
    rcpt: str
    message_id: str
    dedup_key: str
    subject: str

    @property
    def event_id(self) -> str:
        return self.dedup_key.split(":", 1)[0].split("#", 1)[0]

    @property
    def kind_suffix(self) -> str | None:
        head = self.dedup_key.split(":", 1)[0]
        return head.split("#", 1)[1] if "#" in head else None


class MailReader:
    """Every message file of the sink's maildir, read once (headers only)."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.seen: set[str] = set()
        self.by_domain: dict[str, list[Mail]] = {}
        self._parser = email.parser.BytesHeaderParser(policy=email.policy.default)

    def scan(self) -> int:
        new = 0
        for sub in ("new", "cur"):
            folder = self.maildir / sub
            if not folder.is_dir():
                continue
            with os.scandir(folder) as entries:
                for entry in entries:
                    base = entry.name.split(":", 1)[0]
                    if base in self.seen:
                        continue
                    try:
                        with open(entry.path, "rb") as f:
                            head = f.read(65536)
                    except FileNotFoundError:  # moved from new/ to cur/ meanwhile: next scan
                        continue
                    msg = self._parser.parsebytes(head)
                    rcpt = str(msg.get("X-Sink-Rcpt") or msg.get("To") or "").strip().lower()
                    mail = Mail(
                        base,
                        rcpt,
                        str(msg.get("Message-ID") or "").strip(),
                        str(msg.get("X-Bridge-Dedup-Key") or "").strip(),
                        str(msg.get("Subject") or ""),
                    )
                    self.seen.add(base)
                    self.by_domain.setdefault(rcpt.rsplit("@", 1)[-1], []).append(mail)
                    new += 1
        return new

    def for_domain(self, domain: str) -> list[Mail]:
        return list(self.by_domain.get(domain, []))


# -- counting -----------------------------------------------------------------------------------


@dataclass
class PoisonPlan:
    """Injected records and the consumers expected to dead-letter each (service, key)."""

    expected: set[tuple[str, str]] = field(default_factory=set)
    injected: list[str] = field(default_factory=list)


class Counter:
    def __init__(
        self, admin_dsn: str, bootstrap: str, maildir: Path, reporting_url: str, hr_token: str
    ) -> None:
        self.admin_dsn = admin_dsn
        self.bootstrap = bootstrap
        self.tail = KafkaTail(bootstrap)
        self.mail = MailReader(maildir)
        self.reporting_url = reporting_url
        self.http = httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {hr_token}"})
        self.kafka = KafkaProbe(bootstrap)
        self.other_mail: dict[str, dict[str, int]] = {}

    async def start(self) -> None:
        await self.tail.start()

    async def aclose(self) -> None:
        await self.tail.stop()
        await self.http.aclose()
        await self.kafka.reset()

    async def _db(self) -> asyncpg.Connection[Any]:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(self.admin_dsn, timeout=5)
        return conn

    async def refresh(self) -> None:
        await self.tail.catch_up()
        await asyncio.to_thread(self.mail.scan)

    # -- the effects of one cohort ------------------------------------------------------------

    async def effects(self, exp: Expected, domain: str, poison: PoisonPlan | None = None) -> list[Effect]:
        await self.refresh()
        cid = exp.cohort_id
        out: list[Effect] = []
        conn = await self._db()
        try:
            pairs = await conn.fetch(
                "SELECT proposal_id::text AS proposal_id FROM matching.pairs "
                "WHERE cohort_id = $1::uuid AND status = 'formed'",
                cid,
            )
            rels = await conn.fetch("SELECT pair_id FROM sessions.relationships WHERE cohort_id = $1", cid)
            sessions = await conn.fetch(
                "SELECT s.id::text AS id, s.status FROM sessions.sessions s "
                "JOIN sessions.relationships r ON r.id = s.relationship_id WHERE r.cohort_id = $1",
                cid,
            )
            reminders = await conn.fetch(
                "SELECT recipient_id, group_key FROM notifications.deliveries "
                "WHERE cohort_id = $1 AND kind = 'session_reminder' AND channel = 'email'",
                cid,
            )
        finally:
            await conn.close()

        out.append(keyed_effect("matching: pairs formed", exp.proposals, [r["proposal_id"] for r in pairs]))
        # A relationship per proposal: pair ids the driver never learnt stand for lost pairs.
        known = {exp.pairs.get(p, f"pair of proposal {p}") for p in exp.proposals}
        out.append(keyed_effect("sessions: relationships", known, [r["pair_id"] for r in rels]))
        out.append(keyed_effect("sessions: sessions scheduled", exp.sessions, [r["id"] for r in sessions]))
        out.append(
            keyed_effect(
                "sessions: sessions held", exp.held, [r["id"] for r in sessions if r["status"] == "held"]
            )
        )
        out += self._email_effects(exp, domain)
        want_reminders = {
            (pid, sid)
            for sid in exp.future
            for pid in self._pair_people(exp, exp.sessions[sid].relationship_id)
        }
        seen_reminders = [(r["recipient_id"], (r["group_key"] or "").rsplit(":", 1)[-1]) for r in reminders]
        out.append(keyed_effect("notifications: reminders planned", want_reminders, seen_reminders))
        out += await self._reporting(exp)
        out += self._dead_letters(exp, poison)
        return out

    @staticmethod
    def _pair_people(exp: Expected, relationship_id: str) -> tuple[str, ...]:
        for proposal, pair in exp.pairs.items():
            if exp.relationships.get(pair) == relationship_id:
                return exp.proposals[proposal]
        return ()

    def _email_effects(self, exp: Expected, domain: str) -> list[Effect]:
        want: dict[str, set[tuple[str, str]]] = {k: set() for k in EMAIL_KINDS}
        for proposal, (mentor, mentee) in exp.proposals.items():
            for pid in (mentor, mentee):
                want["match_proposed"].add((proposal, exp.email(pid)))
                if proposal in exp.pairs:
                    want["pair_formed"].add((exp.pairs[proposal], exp.email(pid)))
                else:  # the pair id never became known: the pair itself is lost
                    want["pair_formed"].add((f"pair of proposal {proposal}", exp.email(pid)))
        for sid, plan in exp.sessions.items():
            if plan.held:  # logged after it happened: no invite, no "scheduled" mail
                continue
            for pid in self._pair_people(exp, plan.relationship_id):
                want["session_scheduled"].add((sid, exp.email(pid)))
        seen: dict[str, list[tuple[tuple[str, str], str]]] = {k: [] for k in EMAIL_KINDS}
        unattributed: list[str] = []
        other: Multiset[str] = Multiset()
        for mail in self.mail.for_domain(domain):
            if not mail.rcpt.startswith("hr@"):
                info = self.tail.events.get(mail.event_id)
                if info is None:
                    unattributed.append(f"{mail.file} (dedup key {mail.dedup_key!r})")
                    continue
                kind = mail.kind_suffix or KIND_OF_TYPE.get(info.type, info.type)
                if kind not in seen:
                    other[kind] += 1
                    continue
                about = info.subject.get(SUBJECT_FIELD[kind], "?")
                seen[kind].append(((about, mail.rcpt), mail.message_id))
            else:
                other["to HR: " + mail.subject[:40]] += 1
        effects = []
        for kind in EMAIL_KINDS:
            e = keyed_effect(f"emails: {kind}", want[kind], [k for k, _ in seen[kind]])
            # Split the duplicates: same Message-ID (the SMTP window) vs distinct ones (real).
            by_key: dict[tuple[str, str], Multiset[str]] = {}
            for k, mid in seen[kind]:
                by_key.setdefault(k, Multiset())[mid] += 1
            window = sum(n - 1 for mids in by_key.values() for n in mids.values() if n > 1)
            e.smtp_window = window
            e.duplicated -= window
            if window:
                e.evidence.append(
                    "same Message-ID twice: "
                    + ", ".join(f"{k[1]} {kind} {k[0]}" for k, m in by_key.items() if max(m.values()) > 1)[
                        :300
                    ]
                )
            effects.append(e)
        if unattributed:
            effects.append(
                Effect(
                    "emails: not attributable",
                    0,
                    len(unattributed),
                    0,
                    len(unattributed),
                    0,
                    unattributed[:5],
                )
            )
        # Kinds this workload does not ask for (e.g. HR's Monday digest): shown, not judged.
        self.other_mail[domain] = dict(other)
        return effects

    async def _reporting(self, exp: Expected) -> list[Effect]:
        kpis: dict[str, Any] | None = None
        note = ""
        try:
            r = await self.http.get(
                f"{self.reporting_url}/reports/overview", params={"cohort_id": exp.cohort_id}
            )
            if r.status_code == 200:
                kpis = r.json()["kpis"]
            else:
                note = f"reporting answered {r.status_code}"
        except httpx.HTTPError as exc:
            note = f"reporting unreachable: {type(exc).__name__}"

        def get(k: str) -> int | None:
            return None if kpis is None else int(kpis[k])

        n_pairs = len(exp.proposals)
        return [
            count_effect("reporting: enrolled", len(exp.people), get("enrolled"), note),
            count_effect("reporting: pairs formed", n_pairs, get("pairs_formed"), note),
            count_effect("reporting: pairs active", n_pairs, get("pairs_active"), note),
            count_effect("reporting: relationships started", n_pairs, get("relationships_started"), note),
            count_effect("reporting: sessions held", len(exp.held), get("sessions_held"), note),
        ]

    def _dead_letters(self, exp: Expected, poison: PoisonPlan | None) -> list[Effect]:
        real = [
            lt
            for lt in self.tail.letters
            if lt.cohort_id == exp.cohort_id and not lt.key.startswith(POISON_KEY_PREFIX)
        ]
        # A valid event of this cohort in a dead-letter topic is an effect that consumer dropped.
        e = Effect("dead letters of valid events", 0, len(real), len(real), 0)
        e.evidence = [
            f"{lt.service}: {lt.original_topic} event {lt.event_id} ({lt.error_class}: {lt.error[:120]})"
            for lt in real[:5]
        ]
        effects = [e]
        if poison is not None:
            mine = [lt for lt in self.tail.letters if (lt.service, lt.key) in poison.expected]
            with_reason = [(lt.service, lt.key) for lt in mine if lt.error and lt.original_topic]
            pe = keyed_effect("dead letters of injected records", poison.expected, with_reason)
            pe.evidence += [f"{lt.service} {lt.key}: no reason/origin header" for lt in mine if not lt.error][
                :5
            ]
            effects.append(pe)
        return effects

    # -- quiet: nothing more can happen without new input ------------------------------------

    async def lag(self) -> dict[str, int]:
        """Per consumer group, records of its topics it has not committed past yet."""
        try:
            committed = await asyncio.wait_for(self.kafka.committed(), 15)
            ends = await asyncio.wait_for(self.kafka.ends(), 15)
        except BaseException:
            await self.kafka.reset()
            raise
        out: dict[str, int] = {}
        for group, offsets in committed.items():
            topics = {tp.topic for tp in offsets}
            behind = sum(
                max(0, end - offsets.get(tp, 0))
                for tp, end in ends.items()
                if tp.topic in topics and tp.topic not in DLQ_TOPICS
            )
            if behind:
                out[group] = behind
        return out

    async def backlog(self) -> dict[str, int]:
        """What is still to be done somewhere: outbox rows not published, deliveries due or being
        sent (a lease held by a killed instance included), consumer lag."""
        out: dict[str, int] = {}
        conn = await self._db()
        try:
            for svc in SERVICES:
                n = await conn.fetchval(f'SELECT count(*) FROM "{svc}".outbox WHERE published_at IS NULL')
                if n:
                    out[f"{svc} outbox unpublished"] = n
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE status = 'sending') AS sending, "
                "count(*) FILTER (WHERE status = 'pending' AND due_at <= now()) AS due "
                "FROM notifications.deliveries"
            )
            assert row is not None
            if row["sending"]:
                out["notifications deliveries sending"] = row["sending"]
            if row["due"]:
                out["notifications deliveries due"] = row["due"]
        finally:
            await conn.close()
        for group, n in (await self.lag()).items():
            out[f"lag {group}"] = n
        return out
