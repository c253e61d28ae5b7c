"""Privacy in notifications (issue 14, docs/privacy.md), on a real service, PostgreSQL and broker:
erasure (a schema scan finds nothing of the person; the partner's messages are redacted, not lost;
what was waiting is cancelled; the answer event; idempotent), an erased person never mailed nor named
on a late v2 event (sealed as matching's/sessions' Outbox would, keys destroyed in the vault), the
export part, retention, and failure reasons without e-mail addresses."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from bridge_notifications.app import digests
from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.app.retention import apply_retention, batch_was_full
from bridge_notifications.db import deliveries, inbox
from bridge_notifications.domain.planning import PlannedInboxItem
from bridge_notifications.domain.privacy import redact_attachments, scrub_reason
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.contracts.matching import ParticipantRef
from bridge_shared.contracts.privacy import (
    ErasureRequestedV1,
    ExportRequestedV1,
    NotificationsErasureCompletedV1,
    NotificationsExportPartV1,
)
from bridge_shared.events.envelope import build_event, open_event_payload, parse_attributes
from bridge_shared.messaging.sources import owner_source
from bridge_shared.privacy.answers import join_parts
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_TEXT
from bridge_shared.privacy.vault import VAULT
from bridge_shared.scheduling.clock import FrozenClock
from bridge_shared.scheduling.singleton import run_once
from tests.notifications.support import (
    DAY,
    Sink,
    at,
    explanation,
    form_pair,
    notification_events,
    processed,
    publish,
    ref,
    rows,
    uid,
)
from tests.service_harness import RunningService, auth, publish_event
from tests.shared import privacy_scan
from tests.shared.events_for_tests import erase_keys, sealed_event

pytestmark = pytest.mark.integration


# -- helpers -----------------------------------------------------------------------------------------


def person(first: str) -> ParticipantRef:
    """Someone with a name, address and employee id found nowhere else in the database."""
    tag = uuid.uuid4().hex[:8]
    return ref(
        f"{first} Quennell{tag}",
        email_addr=f"{first.lower()}.quennell.{tag}@privacy.example.com",
        employee=f"PRIV-{tag}",
    )


def needles(p: ParticipantRef) -> list[str]:
    return [p.display_name, str(p.email), p.employee_id]


def ics_naming(a: ParticipantRef, b: ParticipantRef, method: str = "REQUEST") -> s.CalendarInvite:
    """A calendar object naming both attendees, with the first one's line folded (RFC 5545)."""
    attendee = f"ATTENDEE;CN={a.display_name}:mailto:{a.email}"
    folded = attendee[:16] + "\r\n " + attendee[16:]  # inside the name
    ics = (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\nUID:s@bridge\r\n{folded}\r\n"
        f"ATTENDEE;CN={b.display_name}:mailto:{b.email}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return s.CalendarInvite(uid="s@bridge", sequence=0, method=method, ics=ics)


def scheduled(p: m.PairFormedV1, starts_at: Any, invite: s.CalendarInvite) -> s.SessionScheduledV1:
    return s.SessionScheduledV1(
        relationship_id=uid("rel-"),
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        session_id=uid("sess-"),
        mentor_id=p.mentor.participant_id,
        mentee_id=p.mentee.participant_id,
        starts_at=starts_at,
        duration_minutes=45,
        invite=invite,
    )


async def schema_hits(svc: RunningService, values: list[str]) -> list[str]:
    """Every text-like column of every table of the service's schema, searched for each value."""
    async with svc.runtime.pool.acquire() as conn:
        tables = {c["table_name"] for c in await privacy_scan.text_columns(conn, [svc.settings.db_schema])}
        assert {
            "recipients",
            "deliveries",
            "inbox_items",
            "preferences",
            "outbox",
            "erased_participants",
        } <= tables
        return await privacy_scan.hits(conn, values, [svc.settings.db_schema])


async def outbox_payloads(svc: RunningService, event_type: str) -> list[dict[str, Any]]:
    """The outbox's events of a type, opened as a consumer would (sealed fields with the vault)."""
    out = []
    async with svc.runtime.pool.acquire() as conn:
        got = await conn.fetch(
            "SELECT headers, payload FROM outbox WHERE event_type = $1 ORDER BY id", event_type
        )

        async def keys_for(subjects: set[str]) -> Any:
            return await VAULT.keys_for_opening(conn, subjects)

        for r in got:
            payload = await open_event_payload(parse_attributes(r["headers"]), bytes(r["payload"]), keys_for)
            out.append(payload.model_dump(mode="json"))
    return out


async def request_erasure(svc: RunningService, *pids: str, erasure_id: str | None = None) -> tuple[str, str]:
    req = ErasureRequestedV1(
        erasure_id=erasure_id or uid("er-"), participant_ids=list(pids), requested_at=at(2025, 3, 4)
    )
    eid = await publish(svc, req)
    await processed(svc, eid)
    return req.erasure_id, eid


async def confirmations(svc: RunningService, erasure_id: str) -> list[dict[str, Any]]:
    answers = await outbox_payloads(svc, NotificationsErasureCompletedV1.event_type)
    return [a for a in answers if a["erasure_id"] == erasure_id]


# -- erasure -----------------------------------------------------------------------------------------


async def test_erasure_leaves_nothing_of_the_person_and_redacts_what_their_partner_was_sent(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 3, 3, 9))
    gone, partner = person("Mirela"), person("Tomas")
    hr_address = f"hr-{uid()}@bridge.example"
    # Their own preferences, with a chat webhook: deleted with them.
    r = await svc.client.put(
        "/me/preferences",
        json={"channels": ["email", "inbox"], "chat_webhook_url": "http://127.0.0.1:9/hook/secret"},
        headers=auth("participant", sub=gone.employee_id),
    )
    assert r.status_code == 200, r.text
    p, _ = await form_pair(svc, gone, partner, hr=hr_address)
    await dispatcher.drain()  # pair_formed sent to both
    # A session in a week: the invite (naming both) is sent now, the reminders wait.
    sess = scheduled(p, at(2025, 3, 10, 10), ics_naming(gone, partner))
    await processed(svc, await publish(svc, sess))
    await dispatcher.drain()
    # HR's escalation names both people too (due later: waiting).
    risk = s.PairAtRiskV1(
        relationship_id=sess.relationship_id,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        reason="inactive",
        detail="no session for 30 days",
        detected_at=at(2025, 3, 3, 9),
        mentor_id=gone.participant_id,
        mentee_id=partner.participant_id,
        hr_contact_email=hr_address,
    )
    await processed(svc, await publish(svc, risk))

    assert await schema_hits(svc, needles(gone)), "the scan must see the person before the erasure"
    to_partner = await rows(
        svc,
        "SELECT * FROM deliveries WHERE recipient_id = $1 ORDER BY created_at, id",
        partner.participant_id,
    )
    assert any(gone.display_name in d["subject"] + d["body_text"] for d in to_partner)
    waiting = await rows(
        svc,
        "SELECT id FROM deliveries WHERE recipient_id = $1 AND status = 'pending'",
        gone.participant_id,
    )
    assert waiting, "the person's reminder waits"
    partner_inbox = await rows(svc, "SELECT id FROM inbox_items WHERE employee_id = $1", partner.employee_id)

    erasure_id, erasure_event = await request_erasure(svc, gone.participant_id)

    hits = await schema_hits(svc, needles(gone))
    assert hits == [], "the erased person is still in the notifications schema:\n" + "\n".join(hits)
    # Their own rows: recipient, preferences and inbox gone; deliveries kept for counts, placeholders only.
    assert await rows(svc, "SELECT 1 FROM recipients WHERE participant_id = $1", gone.participant_id) == []
    assert await rows(svc, "SELECT 1 FROM preferences WHERE employee_id = $1", gone.employee_id) == []
    assert await rows(svc, "SELECT 1 FROM inbox_items WHERE recipient_id = $1", gone.participant_id) == []
    theirs = await rows(svc, "SELECT * FROM deliveries WHERE recipient_id = $1", gone.participant_id)
    assert theirs and all(
        d["to_address"] == ERASED_EMAIL and d["subject"] == ERASED_TEXT and d["attachments"] == []
        for d in theirs
    )
    assert {d["id"] for d in theirs if d["status"] == "cancelled"} >= {w["id"] for w in waiting}
    assert {d["status"] for d in theirs} <= {"sent", "cancelled"}
    # The partner's messages are redacted, not lost; the invite's attendee is gone from the attachment.
    after = await rows(
        svc,
        "SELECT * FROM deliveries WHERE recipient_id = $1 ORDER BY created_at, id",
        partner.participant_id,
    )
    assert [d["id"] for d in after] == [d["id"] for d in to_partner]
    assert [d["status"] for d in after] == [d["status"] for d in to_partner]
    assert any(ERASED_TEXT in d["subject"] + d["body_text"] for d in after)
    assert partner.display_name in after[0]["body_text"], "the partner's own name stays"
    [invite_row] = [d for d in after if d["kind"] == "session_scheduled" and d["channel"] == "email"]
    ics = base64.b64decode(invite_row["attachments"][0]["content_b64"]).decode()
    assert str(partner.email) in ics and gone.display_name not in ics and str(gone.email) not in ics
    assert len(
        await rows(svc, "SELECT id FROM inbox_items WHERE employee_id = $1", partner.employee_id)
    ) == len(partner_inbox)
    escalation = await rows(
        svc, "SELECT * FROM deliveries WHERE kind = 'at_risk_escalation' AND cohort_id = $1", p.cohort_id
    )
    assert escalation and all(ERASED_TEXT in e["body_text"] for e in escalation)

    # The answer: counts by kind, and nothing personal.
    [answer] = await confirmations(svc, erasure_id)
    counts = answer["erased"]
    assert counts["recipients"] == 1 and counts["preferences"] == 1 and counts["inbox_items"] >= 2
    assert counts["deliveries_cancelled"] >= len(waiting) and counts["deliveries_anonymised"] == len(theirs)
    assert counts["others_deliveries_redacted"] >= 3 and counts["others_inbox_items_redacted"] >= 1

    # Idempotent: the same record again has no effect; a new request (sent after it on the same
    # partition, so handled after it) finds nothing left to erase and confirms with zeros.
    request = ErasureRequestedV1(
        erasure_id=erasure_id, participant_ids=[gone.participant_id], requested_at=at(2025, 3, 4)
    )
    await publish_event(svc, build_event(request, source=owner_source(request.topic), event_id=erasure_event))
    second = ErasureRequestedV1(
        erasure_id=uid("er-"), participant_ids=[gone.participant_id], requested_at=at(2025, 3, 5)
    )
    record = dataclasses.replace(build_event(second, source=owner_source(second.topic)), key=erasure_id)
    await publish_event(svc, record)
    await processed(svc, record.id)
    [again] = await confirmations(svc, second.erasure_id)
    assert set(again["erased"].values()) == {0}
    assert len(await confirmations(svc, erasure_id)) == 1
    assert await schema_hits(svc, needles(gone)) == []


async def test_erasure_redacts_the_partners_daily_digest_and_cancels_the_persons_held_items(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 8, 4, 12))
    gone, partner = person("Oskar"), person("Amaya")
    for who in (gone, partner):
        r = await svc.client.put(
            "/me/preferences", headers=auth("participant", sub=who.employee_id), json={"digest": "daily"}
        )
        assert r.status_code == 200, r.text
    await form_pair(svc, partner, gone, formed_at=clock.now())
    # The partner's digest is built (it lists "... Oskar Quennell..."); the person's is not due yet.
    clock.set(at(2025, 8, 5, 6))
    async with svc.runtime.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE deliveries SET due_at = $2 WHERE recipient_id = $1 AND status = 'digest'",
            gone.participant_id,
            at(2025, 8, 9, 6),
        )
        assert await digests.daily_digest(conn, clock.now(), svc.settings) >= 1  # type: ignore[arg-type]
    [digest] = await rows(
        svc,
        "SELECT id, body_text FROM deliveries WHERE recipient_id = $1 AND kind = 'daily_digest'",
        partner.participant_id,
    )
    assert gone.display_name in digest["body_text"]
    held = await rows(svc, "SELECT id FROM deliveries WHERE recipient_id = $1", gone.participant_id)
    assert held

    await request_erasure(svc, gone.participant_id)
    [after] = await rows(svc, "SELECT status, body_text FROM deliveries WHERE id = $1", digest["id"])
    assert gone.display_name not in after["body_text"] and ERASED_TEXT in after["body_text"]
    assert {
        r["status"]
        for r in await rows(svc, "SELECT status FROM deliveries WHERE recipient_id = $1", gone.participant_id)
    } == {"cancelled"}
    clock.set(at(2025, 8, 9, 6))
    async with svc.runtime.pool.acquire() as conn, conn.transaction():
        await digests.daily_digest(conn, clock.now(), svc.settings)  # type: ignore[arg-type]
    await dispatcher.drain()
    assert sink.messages(str(gone.email)) == []
    assert await schema_hits(svc, needles(gone)) == []


async def test_an_unknown_person_is_confirmed_with_zeros(svc: RunningService) -> None:
    erasure_id, _ = await request_erasure(svc, uid("p-unknown-"))
    [answer] = await confirmations(svc, erasure_id)
    assert answer["erased"] and set(answer["erased"].values()) == {0}


# -- late events about an erased person ------------------------------------------------------------


async def test_an_erased_person_is_never_mailed_nor_named_on_a_late_v2_event(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    clock.set(at(2025, 3, 3, 9))
    gone, partner = person("Ilse"), person("Ravi")
    p, _ = await form_pair(svc, partner, gone)
    await dispatcher.drain()
    before_gone, before_partner = len(sink.messages(str(gone.email))), len(sink.messages(str(partner.email)))

    # Sessions' Outbox seals the invite under both people's keys; matching then destroys the
    # person's key, before notifications has handled the erasure request: the vault says so.
    sess = s.SessionScheduledV2(**scheduled(p, at(2025, 3, 12, 10), ics_naming(partner, gone)).model_dump())
    record = await sealed_event(sess, source=owner_source(sess.topic), dsn=admin_dsn)
    await erase_keys([gone.participant_id], dsn=admin_dsn)
    await publish_event(svc, record)
    await processed(svc, record.id)
    assert await rows(svc, "SELECT id FROM deliveries WHERE source_event_id = $1", record.id) == []
    assert await rows(svc, "SELECT id FROM inbox_items WHERE dedup_key LIKE $1", f"{record.id}%") == []

    await request_erasure(svc, gone.participant_id)

    # A late pair.formed v2 (the person's profile opens as placeholders): nothing planned for either,
    # and the erased recipient is not re-created.
    late = m.PairFormedV2(
        pair_id=uid("pair-"),
        cohort_id=p.cohort_id,
        mentor=m.ParticipantRefV2(**partner.model_dump()),
        mentee=m.ParticipantRefV2(**gone.model_dump()),
        explanation=m.MatchExplanationV2(**explanation().model_dump()),
        formed_at=at(2025, 3, 5),
    )
    record = await sealed_event(late, source=owner_source(late.topic), dsn=admin_dsn)
    await publish_event(svc, record)
    await processed(svc, record.id)
    assert await rows(svc, "SELECT id FROM deliveries WHERE source_event_id = $1", record.id) == []
    # A late profile update of the erased person must not overwrite (or re-create) anything.
    upd = m.ParticipantUpdatedV2(
        participant_id=gone.participant_id,
        cohort_id=p.cohort_id,
        role="mentee",
        profile=m.ParticipantRefV2(**gone.model_dump()),
    )
    record = await sealed_event(upd, source=owner_source(upd.topic), dsn=admin_dsn)
    await publish_event(svc, record)
    await processed(svc, record.id)
    assert await rows(svc, "SELECT 1 FROM recipients WHERE participant_id = $1", gone.participant_id) == []
    # Even the v1 history replayed: the tombstone keeps the recipient from coming back.
    replay = m.ParticipantEnrolledV1(
        participant_id=gone.participant_id, cohort_id=p.cohort_id, role="mentee", profile=gone
    )
    await processed(svc, await publish(svc, replay))
    assert await rows(svc, "SELECT 1 FROM recipients WHERE participant_id = $1", gone.participant_id) == []
    [live] = await rows(
        svc, "SELECT display_name FROM recipients WHERE participant_id = $1", partner.participant_id
    )
    assert live["display_name"] == partner.display_name

    await dispatcher.drain()
    assert len(sink.messages(str(gone.email))) == before_gone
    assert len(sink.messages(str(partner.email))) == before_partner
    assert await schema_hits(svc, needles(gone)) == []


async def test_a_live_pairs_v2_session_is_sent_with_its_invite(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    """The v2 types are routed like v1: the sealed invite opens and is attached."""
    clock.set(at(2025, 3, 3, 9))
    a, b = person("Noor"), person("Jonas")
    p, _ = await form_pair(svc, a, b)
    sess = s.SessionScheduledV2(**scheduled(p, at(2025, 3, 12, 10), ics_naming(a, b)).model_dump())
    record = await sealed_event(sess, source=owner_source(sess.topic), dsn=admin_dsn)
    await publish_event(svc, record)
    await processed(svc, record.id)
    await dispatcher.drain()
    [mail] = [x for x in sink.messages(str(b.email)) if "Session with" in x["Subject"]]
    [att] = list(mail.iter_attachments())
    assert "BEGIN:VCALENDAR" in att.get_content()


# -- export ------------------------------------------------------------------------------------------


async def test_export_gives_the_profile_preferences_inbox_and_delivery_log_with_a_summary(
    svc: RunningService, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 3, 3, 9))
    me, partner = person("Sade"), person("Piet")
    r = await svc.client.put(
        "/me/preferences",
        json={"quiet_start": "21:00", "quiet_end": "07:00"},
        headers=auth("participant", sub=me.employee_id),
    )
    assert r.status_code == 200, r.text
    await form_pair(svc, me, partner)
    await dispatcher.drain()
    req = ExportRequestedV1(
        export_id=uid("ex-"), participant_ids=[me.participant_id], requested_at=at(2025, 3, 4)
    )
    await processed(svc, await publish(svc, req))

    parts = [
        x
        for x in await outbox_payloads(svc, NotificationsExportPartV1.event_type)
        if x["export_id"] == req.export_id
    ]
    assert parts and {x["chunks"] for x in parts} == {len(parts)}
    doc = join_parts([x["data"] for x in sorted(parts, key=lambda x: x["chunk"])])
    assert doc["service"] == "notifications"
    [profile] = doc["recipients"]
    assert (profile["display_name"], profile["email"], profile["employee_id"]) == (
        me.display_name,
        str(me.email),
        me.employee_id,
    )
    [prefs] = doc["preferences"]
    assert prefs["quiet_start"].startswith("21:00") and "chat_webhook_url" not in prefs
    assert [i["kind"] for i in doc["inbox_items"]] == ["pair_formed"]
    [mail] = doc["deliveries"]
    assert (mail["channel"], mail["kind"], mail["status"]) == ("email", "pair_formed", "sent")
    assert partner.display_name in mail["subject"], "what the person was told about their partner"
    assert mail["sent_at"] and "body_text" not in mail
    assert any("delivery log" in line for line in doc["summary"]) and any(
        "inbox" in line for line in doc["summary"]
    )
    assert partner.employee_id not in json.dumps(doc) and str(partner.email) not in json.dumps(doc)


# -- retention ---------------------------------------------------------------------------------------


async def test_retention_deletes_old_delivery_logs_and_inbox_items_in_bounded_batches(
    svc: RunningService,
) -> None:
    """Rows of the year 2000 against the defaults (180 / 365 / 730 days), in batches of 2."""
    settings = svc.settings
    assert isinstance(settings, NotificationsSettings)
    assert (
        settings.retention_delivery_log_days,
        settings.retention_read_inbox_days,
        settings.retention_unread_inbox_days,
    ) == (180, 365, 730)
    settings = settings.model_copy(update={"retention_batch_size": 2})
    t0 = at(2000, 1, 1)
    batch = uid("ret-")
    async with svc.runtime.pool.acquire() as conn:
        made = {}
        for name, status in (
            ("sent1", "sent"),
            ("sent2", "sent"),
            ("failed", "failed"),
            ("pending", "pending"),
        ):
            made[name] = await deliveries.create(
                conn,
                now=t0,
                source_event_id=f"{batch}-{name}",
                recipient_id=f"{batch}-r",
                cohort_id=batch,
                channel="email",
                kind="pair_formed",
                to_address="someone@bridge.example",
                subject="s",
                body_text="b",
                body_html=None,
                due_at=t0 + timedelta(days=400),  # a pending row is never deleted, however old
                status=status,
            )
        for name, read_after in (
            ("read_early", 10),
            ("read_late", 300),
            ("unread", None),
            ("unread_new", None),
        ):
            visible = t0 + (timedelta(days=500) if name == "unread_new" else timedelta(0))
            await inbox.add(
                conn,
                PlannedInboxItem(
                    key=f"{batch}-{name}",
                    employee_id=f"{batch}-E",
                    recipient_id=f"{batch}-r",
                    cohort_id=batch,
                    kind="pair_formed",
                    subject=name,
                    body="b",
                    link=None,
                    group_key=None,
                    visible_at=visible,
                ),
                now=t0,
            )
            if read_after is not None:
                await conn.execute(
                    "UPDATE inbox_items SET read_at = $2 WHERE dedup_key = $1",
                    f"{batch}-{name}",
                    t0 + timedelta(days=read_after),
                )

    async def left() -> tuple[list[str], list[str]]:
        d = await rows(svc, "SELECT source_event_id FROM deliveries WHERE cohort_id = $1 ORDER BY 1", batch)
        i = await rows(svc, "SELECT subject FROM inbox_items WHERE cohort_id = $1 ORDER BY 1", batch)
        return [x["source_event_id"].removeprefix(f"{batch}-") for x in d], [x["subject"] for x in i]

    # 200 days on: only the finished deliveries are past 180 days (two per batch: the job goes on).
    now = t0 + 200 * DAY
    ran, counts = await run_once(
        svc.runtime.pool, "test.retention", lambda c, _: apply_retention(c, now, settings)
    )
    assert ran and counts is not None and counts["deliveries"] == 2 and batch_was_full(counts, settings)
    _, counts = await run_once(
        svc.runtime.pool, "test.retention", lambda c, _: apply_retention(c, now, settings)
    )
    assert counts is not None and counts["deliveries"] == 1
    assert await left() == (["pending"], ["read_early", "read_late", "unread", "unread_new"])
    # 400 days: read 390 days ago goes, read 100 days ago stays; unread ones stay (730 days).
    now = t0 + 400 * DAY
    await run_once(svc.runtime.pool, "test.retention", lambda c, _: apply_retention(c, now, settings))
    assert await left() == (["pending"], ["read_late", "unread", "unread_new"])
    # 800 days: the unread item visible since day 0 goes; the one visible since day 500 stays.
    now = t0 + 800 * DAY
    _, counts = await run_once(
        svc.runtime.pool, "test.retention", lambda c, _: apply_retention(c, now, settings)
    )
    assert await left() == (["pending"], ["unread_new"])
    assert counts == {"deliveries": 0, "read_inbox_items": 1, "unread_inbox_items": 1, "health_facts": 0}
    _, counts = await run_once(
        svc.runtime.pool, "test.retention", lambda c, _: apply_retention(c, now, settings)
    )
    assert counts == {
        "deliveries": 0,
        "read_inbox_items": 0,
        "unread_inbox_items": 0,
        "health_facts": 0,
    }, "idempotent"


def test_retention_settings_are_bounded() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        NotificationsSettings(retention_delivery_log_days=0)
    with pytest.raises(ValueError, match="less than or equal to 3650"):
        NotificationsSettings(retention_unread_inbox_days=3651)


# -- what leaves the service -----------------------------------------------------------------------


async def test_a_failure_reason_names_no_email_address(
    svc: RunningService, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 3, 3, 9))
    async with svc.runtime.pool.acquire() as conn:
        delivery_id = await deliveries.create(
            conn,
            now=clock.now(),
            source_event_id=uid("ev-"),
            recipient_id=uid("r-"),
            cohort_id=uid("c-"),
            channel="email",
            kind="pair_formed",
            to_address="someone@invalid.example",  # the sink refuses it: 550
            subject="s",
            body_text="b",
            body_html=None,
        )
    await dispatcher.drain()
    [(outcome, body)] = await notification_events(svc.runtime.pool, delivery_id)
    assert outcome == "failed" and "550" in body["reason"] and "@" not in body["reason"]
    assert set(body) >= {"notification_id", "recipient_id", "reason"} and "to_address" not in body


def test_scrub_reason_removes_addresses_and_webhook_secrets() -> None:
    assert scrub_reason(
        "550 <a.b+c@x.example.com> refused", channel="email", address="a.b+c@x.example.com"
    ) == ("550 <<address>> refused")
    url = "https://hooks.slack.com/services/T0/B0/secret?token=xyz"
    got = scrub_reason(f"ConnectError: {url} for bob@corp.example", channel="chat", address=url)
    assert "secret" not in got and "xyz" not in got and "@" not in got and "hooks.slack.com" in got


def test_redact_attachments_finds_a_name_across_an_ics_fold() -> None:
    a, b = person("Mirela"), person("Tomas")
    ics = ics_naming(a, b).ics
    assert a.display_name not in ics.replace("\r\n", "\n").split("\n")[5], (
        "the fold splits the first attendee"
    )
    [att] = redact_attachments(
        [{"filename": "invite.ics", "content_b64": base64.b64encode(ics.encode()).decode()}],
        [a.display_name, str(a.email)],
    )
    text = base64.b64decode(att["content_b64"]).decode()
    assert a.display_name not in text and str(a.email) not in text and b.display_name in text
