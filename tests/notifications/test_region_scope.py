"""The one region-scoping rule (docs/access.md) in notifications: preferences, the delivery log and
cohort defaults follow the person's home region; webhook URLs are never returned; service only reads."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from bridge_notifications.app.delivery_log import _redact
from bridge_notifications.db.deliveries import DeliveryRow
from bridge_shared.contracts import matching as m
from bridge_shared.contracts.matching import ParticipantRef
from tests.notifications.support import form_pair, processed, publish, ref, uid
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration

HR = auth("hr_admin")
EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("EMEA",))
APAC_HR = auth("hr_regional", sub="hr-apac", regions=("APAC",))
BOTH_HR = auth("hr_regional", sub="hr-both", regions=("EMEA", "APAC"))
AMER_HR = auth("hr_regional", sub="hr-amer", regions=("AMER",))
SERVICE = auth("service", sub="reporting")
WEBHOOK = "http://127.0.0.1:9/services/T000/B000/secret-token-xyz"


def apac(name: str) -> ParticipantRef:
    return ref(name).model_copy(update={"region": "APAC"})


async def test_delivery_log_rows_follow_the_recipients_region(svc: RunningService) -> None:
    cohort = uid("c-")
    mentor, mentee = apac("Aiko Tanaka"), ref("Lena Vogel")  # APAC and EMEA in one cohort
    await form_pair(svc, mentor, mentee, cohort_id=cohort)
    q = {"cohort_id": cohort}
    everything = (await svc.client.get("/deliveries", params=q, headers=HR)).json()
    assert {r["recipient_id"] for r in everything} == {mentor.participant_id, mentee.participant_id}
    mine = (await svc.client.get("/deliveries", params=q, headers=APAC_HR)).json()
    assert mine and {r["recipient_id"] for r in mine} == {mentor.participant_id}
    assert str(mentee.email) not in str(mine)
    theirs = (await svc.client.get("/deliveries", params=q, headers=EMEA_HR)).json()
    assert {r["recipient_id"] for r in theirs} == {mentee.participant_id}
    assert (await svc.client.get("/deliveries", params=q, headers=AMER_HR)).json() == []
    assert len((await svc.client.get("/deliveries", params=q, headers=SERVICE)).json()) == len(everything)
    # Filtered in SQL: a page of one still finds APAC's row.
    page = (await svc.client.get("/deliveries", params={**q, "limit": 1}, headers=APAC_HR)).json()
    assert [r["recipient_id"] for r in page] == [mentor.participant_id]
    # One row, directly: 404 out of scope.
    emea_row = theirs[0]["id"]
    assert (await svc.client.get(f"/deliveries/{emea_row}", headers=APAC_HR)).status_code == 404
    assert (await svc.client.get(f"/deliveries/{emea_row}", headers=EMEA_HR)).status_code == 200


async def test_preferences_follow_the_home_region_and_never_show_the_webhook(svc: RunningService) -> None:
    person = apac("Aiko Tanaka")
    await form_pair(svc, person, ref("Lena Vogel"))
    me = auth("participant", sub=person.employee_id)
    r = await svc.client.put(
        "/me/preferences",
        headers=me,
        json={"channels": ["chat"], "chat_webhook_url": WEBHOOK, "chat_format": "slack"},
    )
    assert r.status_code == 200, r.text
    assert "secret-token-xyz" not in r.text
    assert r.json()["own"]["chat_webhook"] == {"set": True, "host": "127.0.0.1"}
    path = f"/preferences/{person.participant_id}"
    # The measured case: EMEA HR and the service token read an APAC participant's Slack URL.
    assert (await svc.client.get(path, headers=EMEA_HR)).status_code == 404
    assert (await svc.client.get(path, headers=AMER_HR)).status_code == 404
    assert (await svc.client.get(path, headers=auth("participant", sub="someone-else"))).status_code == 404
    for who in (APAC_HR, SERVICE, HR, me):
        got = await svc.client.get(path, headers=who)
        assert got.status_code == 200, got.text
        assert "secret-token-xyz" not in got.text and "chat_webhook_url" not in got.text
        assert got.json()["own"]["chat_webhook"] == {"set": True, "host": "127.0.0.1"}
    mine = await svc.client.get("/me/preferences", headers=me)
    assert "secret-token-xyz" not in mine.text
    # A PUT without the (write-only) URL keeps it; null removes it.
    r = await svc.client.put("/me/preferences", headers=me, json={"channels": ["chat", "email"]})
    assert r.json()["own"]["chat_webhook"] == {"set": True, "host": "127.0.0.1"}
    r = await svc.client.put("/me/preferences", headers=me, json={"chat_webhook_url": None})
    assert r.json()["own"]["chat_webhook"] == {"set": False, "host": None}


async def test_cohort_defaults_need_every_region_and_service_cannot_write(svc: RunningService) -> None:
    cohort = uid("c-")
    created = m.CohortCreatedV1(
        cohort_id=cohort, name="Mixed", regions=["EMEA", "APAC"], hr_contact_email="hr@bridge.example"
    )
    await processed(svc, await publish(svc, created))
    path = f"/cohorts/{cohort}/notification-defaults"
    body = {"digest": "daily", "hr_chat_webhook_url": WEBHOOK, "hr_chat_format": "slack"}
    # The measured case: the service token wrote (200).
    r = await svc.client.put(path, headers=SERVICE, json=body)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    r = await svc.client.put(path, headers=EMEA_HR, json=body)
    assert r.status_code == 403 and "APAC" in r.json()["detail"]
    assert (await svc.client.put(path, headers=AMER_HR, json=body)).status_code == 404
    assert (await svc.client.get(path, headers=AMER_HR)).status_code == 404
    r = await svc.client.put(path, headers=BOTH_HR, json=body)
    assert r.status_code == 200, r.text
    assert "secret-token-xyz" not in r.text
    assert r.json()["hr_chat_webhook"] == {"set": True, "host": "127.0.0.1"}
    for who in (EMEA_HR, SERVICE, HR):
        got = await svc.client.get(path, headers=who)
        assert got.status_code == 200 and "secret-token-xyz" not in got.text
        assert got.json()["digest"] == "daily" and got.json()["hr_chat_webhook"]["set"] is True


def test_the_delivery_log_never_shows_a_webhook_url_even_in_an_error() -> None:
    url = "https://hooks.slack.com/services/T000/B000/secret-token-xyz"
    now = datetime(2025, 3, 3, tzinfo=UTC)
    row = DeliveryRow(
        id=uuid4(), dedup_key="k", source_event_id="e", recipient_id="p", cohort_id="c", channel="chat",
        kind="pair_formed", to_address=url, subject="s", body_text="b", body_html=None, attachments=[],
        status="failed", due_at=now, attempts=3, lease_until=None,
        last_error=f"ConnectError: could not reach {url}", created_at=now, sent_at=None, group_key=None,
        held_reason=None, locale=None, employee_id="E1", chat_format="slack", digest_id=None, updated_at=None,
    )  # fmt: skip
    shown = _redact(row)
    assert shown.to_address == "https://hooks.slack.com/…"
    assert "secret-token-xyz" not in str(shown.last_error) and "/services/" not in str(shown.last_error)
