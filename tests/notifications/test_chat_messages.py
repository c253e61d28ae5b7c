"""Pure tests of the chat message builders (no network): the Teams Adaptive Card built from a
notification's chat text in every locale, its links as Action.OpenUrl buttons, lists and paragraphs,
and Slack's escaping of its control characters."""

from __future__ import annotations

import re

import jsonschema
import pytest

from bridge_notifications.domain.chat_messages import (
    MAX_ACTIONS,
    extract_links,
    payload_for,
    slack_payload,
    teams_payload,
    text_blocks,
)
from bridge_notifications.domain.rendering import render
from tests.notifications.support import ADAPTIVE_CARD_MESSAGE, adaptive_card, card_texts
from tests.notifications.test_rendering_and_timing import CTX, KINDS, LOCALES, TEMPLATES

# `{{ link(relationship_url, "Open your mentoring space") }}` in a template's body block.
TEMPLATE_LINK = re.compile(r'link\((\w+),\s*"([^"]+)"\)')


def test_teams_gets_a_message_with_one_adaptive_card() -> None:
    message = payload_for("teams", "Session with Lena Vogel", "Hello,\n\nOpen: https://x.test/r")
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = adaptive_card(message)  # validated against the closed schema in support.py
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title = card["body"][0]
    assert title == {
        "type": "TextBlock",
        "text": "Session with Lena Vogel",
        "size": "Large",
        "weight": "Bolder",
        "wrap": True,
    }
    assert all(block["wrap"] is True for block in card["body"])
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open", "url": "https://x.test/r"}]
    assert "@type" not in message and "MessageCard" not in str(message)


def test_the_schema_in_the_tests_refuses_the_legacy_message_card() -> None:
    legacy = {"@type": "MessageCard", "@context": "https://schema.org/extensions", "title": "t", "text": "x"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(legacy, ADAPTIVE_CARD_MESSAGE)


def test_links_become_buttons_and_leave_the_text() -> None:
    text = (
        "Hello Aiko,\n\n"
        "Please accept or decline by Friday.\n\n"
        "- Accept the match: https://x.test/a\n"
        "- Decline the match: https://x.test/d\n\n"
        "Keep it two-way: both of you teach. Open your mentoring space: https://x.test/r\n\n"
        "カレンダーの招待状はメールでお送りします。メンタリングのページを開く: https://x.test/j."
    )
    body, links = extract_links(text)
    assert [(x.label, x.url) for x in links] == [
        ("Accept the match", "https://x.test/a"),
        ("Decline the match", "https://x.test/d"),
        ("Open your mentoring space", "https://x.test/r"),
        ("メンタリングのページを開く", "https://x.test/j"),  # the sentence's full stop is not the URL's
    ]
    assert "https://" not in body
    assert text_blocks(body) == [
        "Hello Aiko,",
        "Please accept or decline by Friday.",
        "Keep it two-way: both of you teach.",  # a colon before text, not a URL, is no link
        "カレンダーの招待状はメールでお送りします。.",
    ]


def test_lists_stay_lists_and_lines_stay_apart() -> None:
    blocks = text_blocks("Hello,\n\nYour session:\n- When: Monday 10:00\n- Where: B-204\nSee you.\n\nBye")
    # Teams breaks a list item with \r and any other line only with a blank line.
    assert blocks == ["Hello,", "Your session:", "- When: Monday 10:00\r- Where: B-204", "See you.", "Bye"]


def test_a_repeated_link_is_one_button_and_links_past_the_limit_stay_in_the_text() -> None:
    lines = [f"Link {i}: https://x.test/{i}" for i in range(MAX_ACTIONS + 2)]
    body, links = extract_links("\n".join([*lines, "Again: https://x.test/0"]))
    assert [x.url for x in links] == [f"https://x.test/{i}" for i in range(MAX_ACTIONS)]
    assert body.splitlines()[MAX_ACTIONS:] == [
        f"[Link {i}](https://x.test/{i})" for i in (MAX_ACTIONS, MAX_ACTIONS + 1)
    ]
    assert "x.test/0" not in body  # the repeat is taken out too: its button is there
    card = adaptive_card(teams_payload("s", "\n".join(lines)))
    assert len(card["actions"]) == MAX_ACTIONS


def test_a_url_keeps_its_own_parentheses_and_query() -> None:
    body, links = extract_links("(Read it: https://x.test/wiki/A_(b)?q=1&r=2).")
    assert [x.url for x in links] == ["https://x.test/wiki/A_(b)?q=1&r=2"]
    assert body == "().", body


@pytest.mark.parametrize("loc", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_template_link_is_a_button_on_the_card_in_every_locale(kind: str, loc: str) -> None:
    """The card shows the chat text (the body, without the e-mail footer) of every notification:
    the subject as its title, each of the template's links as a button with the template's label,
    and no raw URL left in the text."""
    for note in ("by_email", None):
        rendered = render(kind, loc, "Europe/Paris", CTX, invite_note=note)
        card = adaptive_card(teams_payload(rendered.subject, rendered.body_text))
        assert card["body"][0]["text"] == rendered.subject
        source = (TEMPLATES / loc / f"{kind}.j2").read_text(encoding="utf-8")
        expected = [(label, CTX[var]) for var, label in TEMPLATE_LINK.findall(source)]
        assert [(a["title"], a["url"]) for a in card.get("actions", [])] == expected
        assert not any("http" in text for text in card_texts(card)), card_texts(card)


def test_slack_text_is_unchanged_but_for_its_escaped_control_characters() -> None:
    payload = slack_payload(
        "Session with A & B", "Reason given: <!channel> moved\nOpen: https://x.test/r?a=1&b=2"
    )
    assert payload == {
        "text": "*Session with A &amp; B*\n\nReason given: &lt;!channel&gt; moved\n"
        "Open: https://x.test/r?a=1&amp;b=2"
    }
    assert payload_for("slack", "s", "t") == payload_for(None, "s", "t") == {"text": "*s*\n\nt"}
