"""Crypto-shredding of event fields: sealed on the wire, opened with the people's keys, and gone
for good once a key is destroyed (docs/privacy.md)."""

from __future__ import annotations

import json
import typing
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from pydantic import BaseModel

import bridge_shared.contracts  # noqa: F401  (registers every event)
from bridge_shared.contracts.matching import MatchExplanationV2, PairFormedV2, ParticipantRefV2
from bridge_shared.contracts.schemas import contract_specs, schema_for
from bridge_shared.events.envelope import EnvelopeError, build_event, decode_payload, parse_attributes
from bridge_shared.events.registry import split_type
from bridge_shared.privacy.classification import Classified
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_NAME, ERASED_TEXT
from bridge_shared.privacy.redaction import needles_for, redact, redact_json
from bridge_shared.privacy.sealing import new_key
from bridge_shared.privacy.vault import VAULT, KeyVault
from tests.shared.events_for_tests import erase_keys, sealed_event


def _ref(pid: str, name: str) -> ParticipantRefV2:
    return ParticipantRefV2(
        participant_id=pid,
        employee_id=f"EMP-{pid}",
        display_name=name,
        email=f"{name.split()[0].lower()}@corp.example.com",
        region="emea",
        department="Finance",
        seniority_level=12,
        timezone="Europe/Paris",
    )


def _pair(mentor: str, mentee: str) -> PairFormedV2:
    return PairFormedV2(
        pair_id=f"pair-{uuid.uuid4().hex[:6]}",
        cohort_id="c1",
        mentor=_ref(mentor, "Alice Lindqvist"),
        mentee=_ref(mentee, "Bob Okafor"),
        explanation=MatchExplanationV2(
            score=0.9, breakdown={"skills": 1.0}, summary="Alice Lindqvist and Bob Okafor"
        ),
        formed_at=datetime.now(UTC),
    )


def test_personal_fields_travel_sealed_and_open_with_the_keys() -> None:
    keys = {"m": new_key(), "e": new_key()}
    event = build_event(_pair("m", "e"), source="/bridge/matching", keys=keys)
    wire = event.value.decode()
    for secret in ("Alice", "Okafor", "alice@corp.example.com", "EMP-m", "EMP-e"):
        assert secret not in wire
    assert json.loads(wire)["mentor"]["region"] == "emea"  # internal fields stay readable
    assert event.headers["ce_dataclassification"] == "confidential"
    assert event.headers["ce_dataregulations"] == "GDPR"
    opened = decode_payload(parse_attributes(list(event.headers.items())), event.value, keys)
    assert isinstance(opened, PairFormedV2)
    assert (opened.mentor.display_name, str(opened.mentee.email)) == (
        "Alice Lindqvist",
        "bob@corp.example.com",
    )
    assert opened.explanation.summary == "Alice Lindqvist and Bob Okafor"


def test_without_one_persons_key_their_fields_and_shared_fields_read_as_erased() -> None:
    keys = {"m": new_key(), "e": new_key()}
    event = build_event(_pair("m", "e"), source="/bridge/matching", keys=keys)
    opened = decode_payload(parse_attributes(list(event.headers.items())), event.value, {**keys, "m": None})
    assert isinstance(opened, PairFormedV2)
    assert (opened.mentor.display_name, str(opened.mentor.email)) == (ERASED_NAME, ERASED_EMAIL)
    assert opened.mentee.display_name == "Bob Okafor"  # the other person's own fields are theirs
    assert opened.explanation.summary == ERASED_TEXT  # sealed under both: gone with either


def test_an_altered_or_plain_personal_field_is_refused() -> None:
    keys = {"m": new_key(), "e": new_key()}
    event = build_event(_pair("m", "e"), source="/bridge/matching", keys=keys)
    attrs = parse_attributes(list(event.headers.items()))
    data = json.loads(event.value)
    data["mentor"]["email"] = "plain@corp.example.com"
    with pytest.raises(EnvelopeError, match="must be sealed"):
        decode_payload(attrs, json.dumps(data).encode(), keys)
    data = json.loads(event.value)
    data["mentor"]["display_name"]["by"] = ["e"]  # another person's key
    with pytest.raises(EnvelopeError, match="does not open"):
        decode_payload(attrs, json.dumps(data).encode(), keys)
    for blob in ("not base64 at all!", "é" * 40, "", "AAAA"):  # broken, non-ASCII, empty, too short
        data = json.loads(event.value)
        data["mentor"]["display_name"]["sealed"] = blob
        with pytest.raises(EnvelopeError, match="does not open"):
            decode_payload(attrs, json.dumps(data).encode(), keys)
    data = json.loads(event.value)
    data["mentor"]["display_name"]["by"] = ["m", "m"]  # the same person twice is not what was sealed
    with pytest.raises(EnvelopeError, match="does not open"):
        decode_payload(attrs, json.dumps(data).encode(), keys)


def _plain_personal(model: type[BaseModel], prefix: str = "") -> list[str]:
    found: list[str] = []
    for name, info in model.model_fields.items():
        if any(isinstance(m, Classified) and m.classification != "internal" for m in info.metadata):
            found.append(prefix + name)
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                found += _plain_personal(arg, f"{prefix}{name}.")
    return found


def test_every_personal_field_of_the_latest_version_of_every_event_is_sealed() -> None:
    """A plain field marked personal is allowed only in a superseded version (kept for history
    readers); the version producers write seals every one."""
    latest: dict[str, int] = {}
    for spec in contract_specs():
        family, version = split_type(spec.type) or (spec.type, 1)
        latest[family] = max(latest.get(family, 0), version)
    checked = 0
    for spec in contract_specs():
        family, version = split_type(spec.type) or (spec.type, 1)
        assert schema_for(spec)["x-classification"] in ("internal", "personal")
        if version == latest[family]:
            assert not _plain_personal(spec.model), f"{spec.type} carries personal fields in plain"
            checked += 1
    assert checked >= 30


async def test_the_vault_creates_keys_once_and_an_erased_person_never_gets_a_new_one(admin_dsn: str) -> None:
    pid = f"p-{uuid.uuid4()}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        first = await VAULT.keys_for_sealing(conn, [pid])
        again = await VAULT.keys_for_sealing(conn, [pid])
        assert first[pid] is not None and first == again
        assert await VAULT.destroy(conn, [pid]) == 1
        assert await VAULT.destroy(conn, [pid]) == 0  # idempotent
        assert (await VAULT.keys_for_sealing(conn, [pid]))[pid] is None
        assert (await KeyVault().keys_for_opening(conn, [pid]))[pid] is None  # not from a cache
        row = await conn.fetchrow(
            "SELECT key, erased_at FROM bridge_vault.subject_keys WHERE subject = $1", pid
        )
        assert row is not None and row["key"] is None and row["erased_at"] is not None
    finally:
        await conn.close()


async def test_an_event_written_before_an_erasure_cannot_be_read_after_it(admin_dsn: str) -> None:
    m, e = f"m-{uuid.uuid4()}", f"e-{uuid.uuid4()}"
    event = await sealed_event(_pair(m, e), source="/bridge/matching", dsn=admin_dsn)
    await erase_keys([m], dsn=admin_dsn)
    conn = await asyncpg.connect(admin_dsn)
    try:
        keys = await KeyVault().keys_for_opening(conn, [m, e])
    finally:
        await conn.close()
    opened = decode_payload(parse_attributes(list(event.headers.items())), event.value, keys)
    assert isinstance(opened, PairFormedV2)
    assert "Alice" not in opened.model_dump_json()
    assert opened.mentee.display_name == "Bob Okafor"


def test_redaction_removes_a_name_its_parts_and_an_email_as_whole_words() -> None:
    needles = needles_for("Alice Lindqvist", "alice@corp.example.com", "EMP-42")
    text = "Alice Lindqvist (alice@corp.example.com, EMP-42) told Bob; Alice's plan. Malice stays."
    out = redact(text, needles)
    assert "Alice" not in out and "Lindqvist" not in out and "EMP-42" not in out and "alice@" not in out
    assert "Malice" in out and "Bob" in out
    assert redact_json({"rows": [{"name": "alice lindqvist"}]}, needles) == {"rows": [{"name": ERASED_TEXT}]}
