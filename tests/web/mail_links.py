"""The links of the e-mails the platform sent, read from the SMTP sink (shared by the participant and
HR link tests).

Each message in the sink carries `X-Bridge-Dedup-Key`, the key of its row in notifications' delivery
log; that row names the template (`kind`), the recipient (participant id, or the cohort's HR contact)
and the cohort. A link is every URL in the message's text and HTML parts that starts with the web
app's base URL. `participant` links are everything but `/hr/...`; `hr` links are `/hr/...`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

_URL = re.compile(r"https?://[^\s\"'<>)\]]+")


@dataclass(frozen=True)
class MailLink:
    """One link of one e-mail."""

    url: str  # as written in the e-mail (absolute)
    path: str  # path and query, to open on the web app under test
    to: str  # the recipient's address
    subject: str
    kind: str | None  # the template (delivery log), None when the row was not found
    recipient_id: str | None  # participant id, or HR's recipient id
    cohort_id: str | None

    @property
    def is_hr(self) -> bool:
        return self.path.startswith("/hr/") or self.path == "/hr"


def urls_in(message: Mapping[str, Any], base_url: str) -> list[str]:
    """The web app's URLs in a sink message's text and HTML parts, in order, without repeats."""
    base = base_url.rstrip("/")
    seen: dict[str, None] = {}
    for part in (message.get("text") or "", message.get("html") or ""):
        for raw in _URL.findall(part):
            url = html.unescape(raw).rstrip(".,;:")
            if url == base or url.startswith(base + "/"):
                seen.setdefault(url, None)
    return list(seen)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def sink_messages(client: httpx.AsyncClient, sink_url: str) -> list[dict[str, Any]]:
    response = await client.get(f"{sink_url.rstrip('/')}/messages")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()
    return messages


async def deliveries_by_key(
    client: httpx.AsyncClient,
    notifications_url: str,
    hr_headers: Mapping[str, str],
    cohort_ids: Iterable[str | None],
) -> dict[str, dict[str, Any]]:
    """notifications' e-mail delivery rows by dedup key (HR's view of the delivery log)."""
    out: dict[str, dict[str, Any]] = {}
    for cohort in set(cohort_ids) or {None}:
        params: dict[str, Any] = {"channel": "email", "limit": 5000}
        if cohort:
            params["cohort_id"] = cohort
        response = await client.get(
            f"{notifications_url}/deliveries", params=params, headers=dict(hr_headers)
        )
        response.raise_for_status()
        for row in response.json():
            out[row["dedup_key"]] = row
    return out


async def collect(
    client: httpx.AsyncClient,
    *,
    sink_url: str,
    notifications_url: str,
    hr_headers: Mapping[str, str],
    base_url: str,
    cohort_ids: Iterable[str] | None = None,
) -> list[MailLink]:
    """Every link of every e-mail in the sink (of these cohorts, when given), with its template."""
    wanted = set(cohort_ids) if cohort_ids is not None else None
    rows = await deliveries_by_key(client, notifications_url, hr_headers, wanted or [None])
    out: list[MailLink] = []
    for message in await sink_messages(client, sink_url):
        key = (message.get("headers") or {}).get("X-Bridge-Dedup-Key", "")
        row = rows.get(key)
        if wanted is not None and (row is None or row.get("cohort_id") not in wanted):
            continue
        for url in urls_in(message, base_url):
            out.append(
                MailLink(
                    url=url,
                    path=path_of(url),
                    to=str(message.get("to", "")),
                    subject=str(message.get("subject", "")),
                    kind=row.get("kind") if row else None,
                    recipient_id=row.get("recipient_id") if row else None,
                    cohort_id=row.get("cohort_id") if row else None,
                )
            )
    return out


def participant_links(links: Iterable[MailLink]) -> list[MailLink]:
    return [link for link in links if not link.is_hr]


def hr_links(links: Iterable[MailLink]) -> list[MailLink]:
    return [link for link in links if link.is_hr]


def kinds(links: Iterable[MailLink]) -> set[str]:
    return {link.kind for link in links if link.kind}
