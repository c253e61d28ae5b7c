"""matching's privacy settings: the erasure ledger's pepper (validated like jwt_secret) and the
bounded retention periods; the ledger's keyed hash."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge_matching.domain.privacy import Identity, scrub, scrub_actor, subject_hash, summary_html
from bridge_matching.settings import DEV_PRIVACY_PEPPER, MatchingSettings

STRONG = "pP7mQ2xV9kR4tW8zL1nB5cJ3hG6dF0sA-ledger"
JWT = "Kq3v9XzR7wLp2mN8sT4yB6cF1hJ5dG0aE-vault"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "production")
    monkeypatch.setenv("BRIDGE_MATCHING_KAFKA_ALLOW_PLAINTEXT_IN_PRODUCTION", "true")
    monkeypatch.setenv("BRIDGE_MATCHING_JWT_SECRET", JWT)
    return monkeypatch


def test_development_and_test_get_the_development_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "test")
    assert MatchingSettings().pepper() == DEV_PRIVACY_PEPPER.encode()


@pytest.mark.parametrize(
    ("pepper", "reason"),
    [
        (None, "production needs privacy_pepper"),
        ("short", "shorter than 32 bytes"),
        (DEV_PRIVACY_PEPPER, "placeholder or the development secret"),
        ("changeme-changeme-changeme-changeme-1", "placeholder"),
    ],
)
def test_production_refuses_a_missing_weak_or_placeholder_pepper(
    production: pytest.MonkeyPatch, pepper: str | None, reason: str
) -> None:
    if pepper is not None:
        production.setenv("BRIDGE_MATCHING_PRIVACY_PEPPER", pepper)
    with pytest.raises(ValidationError, match=reason):
        MatchingSettings()


def test_production_accepts_a_strong_pepper(production: pytest.MonkeyPatch) -> None:
    production.setenv("BRIDGE_MATCHING_PRIVACY_PEPPER", STRONG)
    assert MatchingSettings().pepper() == STRONG.encode()


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_retention_periods_are_bounded(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "test")
    monkeypatch.setenv("BRIDGE_MATCHING_RETENTION_AUDIT_DAYS", str(days))
    with pytest.raises(ValidationError, match="retention_audit_days"):
        MatchingSettings()


def test_retention_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "test")
    s = MatchingSettings()
    assert (s.retention_audit_days, s.retention_withdrawn_days) == (730, 365)
    assert (s.retention_import_reports_days, s.retention_exports_days) == (90, 30)


def test_the_ledger_key_is_a_keyed_hash() -> None:
    h = subject_hash(b"pepper-one", "E123")
    assert len(h) == 64 and "E123" not in h
    assert h == subject_hash(b"pepper-one", "E123") != subject_hash(b"pepper-two", "E123")
    assert h == subject_hash(b"pepper-one", "e123")  # ids compare case-insensitively


def test_scrub_removes_name_email_and_id_from_text_and_documents() -> None:
    who = Identity(employee_ids=("E123",), names=("Ada Lovelace",), emails=("ada@corp.example",))
    assert scrub("Ada Lovelace can teach Bob; ask ada@corp.example (e123)", who) == (
        "[erased] can teach Bob; ask [erased] ([erased])"
    )
    assert scrub({"E123": ["Ada"], "n": 1}, who) == {"[erased]": ["[erased]"], "n": 1}
    assert scrub_actor("e123", who) == "erased" and scrub_actor("hr-1", who) == "hr-1"


def test_the_summary_page_escapes_everything() -> None:
    page = summary_html(
        {
            "export_id": "x",
            "generated_at": "2027-01-01",
            "person": {"display_name": "<img src=x>", "email": "a@b", "employee_id": "E1"},
            "services": {"sessions": {"summary": ["<script>alert(1)</script>"]}},
        }
    )
    assert "<script>" not in page and "&lt;script&gt;" in page and "<img" not in page


def test_outside_the_persons_cohorts_only_the_full_name_email_and_id_are_redacted() -> None:
    who = Identity(employee_ids=("E123",), names=("Will Smith",), emails=("will@corp.example",))
    text = "Will Smith said we will meet; will@corp.example, E123"
    assert scrub(text, who) == "[erased] said we [erased] meet; [erased], [erased]"
    assert scrub(text, who.exact()) == "[erased] said we will meet; [erased], [erased]"
