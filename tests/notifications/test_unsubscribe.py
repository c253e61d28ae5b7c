"""E-mail headers a mature sender sets (RFC 5322 Date and Message-ID, RFC 2369 List-Unsubscribe)
and one-click unsubscribe (RFC 8058) through the link, without logging in."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.domain.unsubscribe import make_token, read_token
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import Sink, at, form_pair, ref, rows
from tests.service_harness import RunningService, auth

KEY = b"k" * 32


def test_token_names_the_participant_and_cannot_be_forged_or_retargeted() -> None:
    token = make_token(KEY, "p-123")
    assert read_token(KEY, token) == "p-123"
    assert read_token(b"x" * 32, token) is None, "another key"
    head, sig = token.split(".")
    other = make_token(KEY, "p-456").split(".")[0]
    assert read_token(KEY, f"{other}.{sig}") is None, "someone else's id with this signature"
    assert read_token(KEY, f"{head}.{sig[:-2]}") is None
    for junk in ("", ".", "abc", "a.b.c", "%%.%%", "x" * 300):
        assert read_token(KEY, junk) is None


@pytest.mark.integration
async def test_participant_mail_has_date_message_id_and_one_click_unsubscribe(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 4, 7, 10, 15))
    mentor, mentee = ref("Aiko Tanaka", tz="Asia/Tokyo"), ref("Lena Vogel", locale="de")
    await form_pair(svc, mentor, mentee, formed_at=clock.now())
    await dispatcher.drain()
    [mail] = sink.messages(str(mentee.email))
    assert parsedate_to_datetime(mail["Date"]) == clock.now()
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith("@bridge.example>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = mail["List-Unsubscribe"].strip().strip("<>")
    assert url.startswith("https://bridge.test/unsubscribe/"), url
    assert str(mentee.email) not in url and mentee.employee_id not in url
    path = urlsplit(url).path
    me = auth("participant", sub=mentee.employee_id)

    async def channels() -> list[str]:
        body = (await svc.client.get("/me/preferences", headers=me)).json()
        return list(body["effective"]["channels"])

    assert await channels() == ["email", "inbox"]
    # Opening the link (a person, or a scanner following every URL) only shows the question.
    page = await svc.client.get(path)
    assert page.status_code == 200 and 'method="post"' in page.text and "Abbestellen" in page.text
    assert await channels() == ["email", "inbox"]
    # The mail client's one-click POST: no login, RFC 8058 body.
    r = await svc.client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "keine E-Mails mehr" in r.text, r.text
    assert await channels() == ["inbox"]
    again = await svc.client.post(path, content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200 and "bereits ausgeschaltet" in again.text
    # The next notification reaches the inbox and no mail goes out.
    await form_pair(svc, mentor, mentee, formed_at=clock.now())
    await dispatcher.drain()
    assert len(sink.messages(str(mentee.email))) == 1
    mine = await rows(
        svc,
        "SELECT channel FROM deliveries WHERE recipient_id = $1 ORDER BY created_at",
        mentee.participant_id,
    )
    assert [d["channel"] for d in mine].count("email") == 1
    inbox = (await svc.client.get("/me/notifications", headers=me)).json()
    assert [i["kind"] for i in inbox] == ["pair_formed", "pair_formed"]
    # The mentor's link is their own: the mentee's unsubscribing changed nothing for them.
    mentor_prefs = (
        await svc.client.get("/me/preferences", headers=auth("participant", sub=mentor.employee_id))
    ).json()
    assert mentor_prefs["effective"]["channels"] == ["email", "inbox"]


@pytest.mark.integration
async def test_a_forged_or_malformed_unsubscribe_link_changes_nothing(svc: RunningService) -> None:
    forged = make_token(b"not-the-service-key-0123456789abcdef", "p-anyone")
    for path in (f"/unsubscribe/{forged}", "/unsubscribe/abc.def", "/unsubscribe/no-dot"):
        r = await svc.client.post(path, content=b"List-Unsubscribe=One-Click")
        assert r.status_code in (404, 422), (path, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
