"""Chat messages as the webhook APIs define them, built from a notification's subject and chat text.

The chat text is the body rendered as plain text (`domain/rendering.py`): paragraphs separated by
blank lines, "- " list items, and every link as "label: url", the label starting a line, a list item
or a sentence. From it:

- **Slack** (and Slack-compatible webhooks): `{"text": ...}` in mrkdwn, the subject in bold. `&`, `<`
  and `>` are Slack's control characters (`<!channel>`, `<url|label>`), so they are escaped: a name,
  location or cancellation reason typed by a person can neither ping a channel nor hide a link.
- **Microsoft Teams** (incoming webhooks and Power Automate / Workflows webhooks): a message with one
  Adaptive Card attachment. Workflows accept Adaptive Cards only, not the legacy Office 365 connector
  MessageCard. The card has the subject as a large bold TextBlock, one wrapping TextBlock per paragraph
  or list (Markdown list items, which Teams renders), and the links as Action.OpenUrl buttons, taken
  out of the text so that no raw URL is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The version the card declares. Everything it uses (TextBlock with size, weight and wrap;
# Action.OpenUrl) exists since 1.0, so every Teams client, desktop, web or mobile, renders it.
ADAPTIVE_CARD_VERSION = "1.4"
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams shows six actions on a card and hides the rest in an overflow menu; links beyond this many
# stay in the text as Markdown links instead, so none is hidden.
MAX_ACTIONS = 6

# "label: url" where the label runs back to the start of the line, a list marker, the end of a
# sentence (Latin or CJK) or an opening bracket, and the URL is http(s). Labels never contain a
# colon, a sentence end or a bracket.
_SENTENCE_END = ".!?\u3002\uff01\uff1f"  # and the ideographic full stop, fullwidth ! and ?
_LABEL_STOP = f"\\n:(\\[\uff08{_SENTENCE_END}"  # fullwidth ( too
_LINK = re.compile(rf"(?P<label>[^{_LABEL_STOP}]+?)[ \t]?:[ \t]+(?P<url>https?://[^\s<>]+)")
_URL_TAIL = f",;:\u3001{_SENTENCE_END}"  # punctuation that ends the sentence, not the URL
_BULLET = "- "


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


# Any (here and below): JSON bodies as the webhook APIs define them.
def slack_payload(subject: str, text: str) -> dict[str, Any]:
    return {"text": f"*{slack_escape(subject)}*\n\n{slack_escape(text)}"}


def slack_escape(text: str) -> str:
    """Only these three: Slack decodes no other entity (api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_payload(subject: str, text: str) -> dict[str, Any]:
    """A Teams message carrying one Adaptive Card (`contentUrl` null: the card is inline)."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": adaptive_card(subject, text),
            }
        ],
    }


def adaptive_card(subject: str, text: str) -> dict[str, Any]:
    """The card for one notification; `actions` only when the text has links."""
    body_text, links = extract_links(text)
    card: dict[str, Any] = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": [
            {"type": "TextBlock", "text": subject, "size": "Large", "weight": "Bolder", "wrap": True},
            *({"type": "TextBlock", "text": block, "wrap": True} for block in text_blocks(body_text)),
        ],
    }
    if links:
        card["actions"] = [{"type": "Action.OpenUrl", "title": x.label, "url": x.url} for x in links]
    return card


def extract_links(text: str, *, limit: int = MAX_ACTIONS) -> tuple[str, list[Link]]:
    """The text without its first `limit` distinct links, and those links in order of appearance.
    A link past the limit stays in place as a Markdown link `[label](url)` rather than a bare URL."""
    links: list[Link] = []

    def take(match: re.Match[str]) -> str:
        label = match["label"].strip().removeprefix(_BULLET).strip()
        url, tail = _split_url(match["url"])
        if not label:
            return match[0]
        lead = match["label"][: len(match["label"]) - len(match["label"].lstrip())]
        if any(x.url == url for x in links):
            return lead + tail  # the same target twice: one button
        if len(links) < limit:
            links.append(Link(label, url))
            return lead + tail
        return f"{lead}[{label}]({url}){tail}"

    return _LINK.sub(take, text), links


def _split_url(raw: str) -> tuple[str, str]:
    """The URL and the punctuation after it: a closing parenthesis only when it closes nothing
    opened inside the URL (`.../Foo_(bar)` keeps its own)."""
    url = raw.rstrip(_URL_TAIL)
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(_URL_TAIL)
    return url, raw[len(url) :]


def text_blocks(text: str) -> list[str]:
    """One block per paragraph; consecutive "- " lines become one Markdown list, each item on its
    own line ("\\r": Teams' line break inside a list). Other lines of a paragraph are joined by a
    blank line, the only line break Teams keeps elsewhere in a TextBlock. Empty lines left where a
    link was taken out are dropped."""
    blocks: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in paragraph.splitlines()]
        lines = [ln for ln in lines if ln and ln != _BULLET.strip()]
        for is_list, run in _runs(lines):
            blocks.append("\r".join(run) if is_list else "\n\n".join(run))
    return blocks


def _runs(lines: list[str]) -> list[tuple[bool, list[str]]]:
    """Consecutive lines grouped by whether they are list items."""
    runs: list[tuple[bool, list[str]]] = []
    for line in lines:
        is_list = line.startswith(_BULLET)
        if runs and runs[-1][0] == is_list:
            runs[-1][1].append(line)
        else:
            runs.append((is_list, [line]))
    return runs


def payload_for(fmt: str | None, subject: str, text: str) -> dict[str, Any]:
    """The webhook body for the recipient's chat format (Slack unless they chose Teams)."""
    return teams_payload(subject, text) if fmt == "teams" else slack_payload(subject, text)
