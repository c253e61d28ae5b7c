"""Issue 17: every link of every e-mail template lands on the right page after sign-in.

One walk through the services' APIs gives real ids for everything the e-mails link to: a pair cohort
(proposal, relationship with an agreement in force, a scheduled and a logged session) and a circles
cohort (a circle formed and published through matching's API, every member accepted, a group session
with an activity). The links are not a list written here: for every routed event type
(notifications' routing table, `ROUTED_PAYLOADS` and `ROUTES`) a payload of that contract carrying the
walk's ids goes through notifications' own link builders (`planning.links`, `participant_context`,
`hr_context`, `circles.links`, `member_context`) and the digests' (`daily_context`,
`weekly_context`), and each template's `*_url` placeholders (all five locales, and the footer of
`_common.j2`) are looked up in what they built. A template naming a key no builder gives, a template
no rule renders, or a link off the web app fails the test, so a link added there fails it until the
web app serves it.

Each URL is opened in Chromium signed in as the person the e-mail goes to (a participant rule's
recipient; HR for a rule addressed to "hr"): 200, exactly one h1, not an error page, no axe
violations, a screenshot. The delivered e-mails' links of both cohorts are each one of these
patterns. The unsubscribe link (List-Unsubscribe, notifications' own /unsubscribe/{token}) is not a
web-app page: it is excluded on purpose, and its GET shows its confirmation page and changes nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from playwright.async_api import Browser

import bridge_notifications
from bridge_devstack.demo import participant_headers
from bridge_notifications.domain import circles as circle_links
from bridge_notifications.domain import digests, planning, routing
from bridge_notifications.domain.recipients import Person, Prefs
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import sessions as s
from bridge_shared.events.registry import EventPayload
from bridge_web.api.pages import ERRORS
from tests.e2e.one_pair import ok
from tests.e2e.waiting import eventually
from tests.web import mail_links
from tests.web.walks import CircleWalk, PairWalk, formed_circle, one_pair_walk

pytestmark = pytest.mark.e2e

TEMPLATES = Path(bridge_notifications.__file__).resolve().parent / "templates"
LOCALES = ("en", "de", "fr", "es", "ja")
_KEY = re.compile(r"\b([a-z][a-z0-9_]*_url)\b")
HR = "hr_admin"
ERROR_HEADINGS = {str(heading) for heading, _ in ERRORS.values()}


def template_keys(kind: str) -> set[str]:
    """The `*_url` placeholders the template of `kind` uses in any locale, with the footer's."""
    keys: set[str] = set()
    for loc in LOCALES:
        for name in (f"{kind}.j2", "_common.j2"):
            keys |= set(_KEY.findall((TEMPLATES / loc / name).read_text(encoding="utf-8")))
    return keys


def template_kinds() -> set[str]:
    kinds = {p.stem for p in (TEMPLATES / "en").glob("*.j2") if not p.stem.startswith("_")}
    for loc in LOCALES[1:]:
        assert {p.stem for p in (TEMPLATES / loc).glob("*.j2") if not p.stem.startswith("_")} == kinds, loc
    return kinds


@dataclass(frozen=True)
class Link:
    kind: str  # the template
    key: str  # its placeholder
    url: str
    audience: str  # HR, or the employee id of the participant it is written to


def _person(who: Mapping[str, Any], pid: str, cohort_id: str) -> Person:
    return Person(
        pid, who["employee_id"], cohort_id, who["display_name"], who["email"], "en", who["timezone"]
    )


def _prefs() -> Prefs:
    return Prefs(("email", "inbox"), None, None, "immediate", "en", "UTC", None, "slack")


def _payload(cls: type[EventPayload], values: Mapping[str, str]) -> Any:
    """A payload of that contract carrying the walk's ids in the fields it has (the link builders
    read ids only)."""
    fields = cls.model_fields
    construct: Any = cls.model_construct  # ids only: the builders read nothing else
    return construct(**{k: v for k, v in values.items() if k in fields})


def built_links(
    settings: NotificationsSettings, pair: PairWalk, circle: CircleWalk
) -> tuple[list[Link], list[str]]:
    """Every template link as notifications builds it for the walk's ids, and what is wrong (a
    placeholder no builder fills, a template no rule renders)."""
    problems: list[str] = []
    out: list[Link] = []
    hr_pair = Person(f"hr:{pair.cohort_id}", None, pair.cohort_id, "HR", "hr@bridge.example", "en", "UTC")
    hr_circle = Person(
        f"hr:{circle.cohort_id}", None, circle.cohort_id, "HR", "hr@bridge.example", "en", "UTC"
    )
    mentor = _person(pair.mentor, pair.mentor_id, pair.cohort_id)
    mentee = _person(pair.mentee, pair.mentee_id, pair.cohort_id)
    members = {p["employee_id"]: _person(p, circle.pid(p), circle.cohort_id) for p in circle.people}
    facilitator = members[circle.facilitator["employee_id"]]
    member = members[circle.people[0]["employee_id"]]
    people = circle_links.CirclePeople(
        member_ids=tuple(circle.ids.values()),
        facilitator_id=facilitator.recipient_id,
        known=dict((p.recipient_id, p) for p in members.values()),
    )
    rendered: set[str] = set()

    def add(kind: str, ctx: Mapping[str, Any], audience: str) -> None:
        rendered.add(kind)
        for key in sorted(template_keys(kind)):
            if key not in ctx or not ctx[key]:
                problems.append(f"{kind}: no link builder gives {key}")
                continue
            out.append(Link(kind, key, str(ctx[key]), audience))

    for cls in routing.ROUTED_PAYLOADS:
        actions = [a for a in routing.ROUTES[cls.event_type] if isinstance(a, routing.Notify)]
        if issubclass(cls, routing.CIRCLE_PAYLOADS):
            payload = _payload(
                cls,
                {
                    "circle_id": circle.circle_id,
                    "cohort_id": circle.cohort_id,
                    "session_id": circle.session_id,
                },
            )
            base = circle_links.links(settings, payload)
            for action in actions:
                if action.to == "hr":
                    add(action.kind, planning.hr_context(settings, base, hr_circle, circle.cohort_id), HR)
                    continue
                me = facilitator if action.to == "facilitator" else member
                ctx = circle_links.member_context(settings, base, payload, me, people, _prefs())
                add(action.kind, ctx, str(me.employee_id))
            continue
        held = cls.event_type in (s.SessionHeldV1.event_type, s.SessionHeldV2.event_type)
        payload = _payload(
            cls,
            {
                "cohort_id": pair.cohort_id,
                "proposal_id": pair.proposal_id,
                "pair_id": pair.pair_id,
                "relationship_id": pair.relationship_id,
                "session_id": pair.held_session_id if held else pair.scheduled_session_id,
                "mentor_id": pair.mentor_id,
                "mentee_id": pair.mentee_id,
            },
        )
        base = planning.links(settings, payload)
        for action in actions:
            if action.to == "hr":
                add(action.kind, planning.hr_context(settings, base, hr_pair, pair.cohort_id), HR)
                continue
            # "pair", "partner" (the mentee drafted: the mentor confirms), "remaining": the mentor.
            ctx = planning.participant_context(settings, base, payload, mentor, mentee, "mentor", _prefs())
            add(action.kind, ctx, pair.mentor["employee_id"])

    add("daily_digest", digests.daily_context(settings, mentee, ["a subject"]), pair.mentee["employee_id"])
    now = datetime.now(UTC)
    week = digests.Week(now - timedelta(days=7), now, "this week")
    figures = digests.WeekFigures(0, 0, 0, 0, 0, [])
    health = digests.HealthFigures(0, 0, 0, 0, None, 0, 0, 0, 0)
    add("weekly_digest", digests.weekly_context(settings, pair.cohort_id, hr_pair, week, figures, health), HR)

    unrendered = template_kinds() - rendered
    problems += [f"{kind}: a template no routing rule or digest renders here" for kind in sorted(unrendered)]
    return out, problems


@dataclass
class Walk:
    pair: PairWalk
    circle: CircleWalk


def _ids(pair: PairWalk, circle: CircleWalk) -> set[str]:
    return {
        pair.cohort_id,
        pair.proposal_id,
        pair.pair_id,
        pair.relationship_id,
        pair.mentor_id,
        pair.mentee_id,
        pair.scheduled_session_id,
        pair.held_session_id,
        circle.cohort_id,
        circle.circle_id,
        circle.session_id,
        *circle.ids.values(),
    }


def _shape(path: str, literals: set[str] | None, ids: set[str]) -> str:
    """A path with its ids as `*`: the segments (and query values) that are known ids, or, with
    `literals`, every segment that is not one of them."""
    parts = urlsplit(path)

    def generic(segment: str) -> bool:
        return segment in ids if literals is None else segment not in literals

    segments = ["*" if generic(s) else s for s in parts.path.split("/")]
    query = "&".join(f"{k}={'*' if generic(v) else v}" for k, v in sorted(parse_qsl(parts.query)))
    return "/".join(segments) + (f"?{query}" if query else "")


PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
# The innermost elements that reach past the window's right edge (what makes a page scroll sideways).
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 4)
  .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
    + ' ' + Math.round(e.getBoundingClientRect().right) + 'px ' + (e.textContent || '').trim().slice(0, 30))"""


async def test_every_link_of_every_email_template_lands_on_its_page(
    web_platform: Any,
    browser: Browser,
    sign_in_dev: Any,
    screenshot: Any,
    assert_no_axe_violations: Any,
    smtp_sink: Any,
    hr_token: str,
) -> None:
    web = web_platform.base_url
    m, se, no = (web_platform.platform.url(s) for s in ("matching", "sessions", "notifications"))
    tag = uuid.uuid4().hex[:6].upper()
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=60, headers=hr) as client:
        pair = await one_pair_walk(client, m, se, tag)
        circle = await formed_circle(client, m, se, tag)
        facilitator = participant_headers(circle.facilitator["employee_id"])
        starts = (datetime.now(UTC) + timedelta(days=4)).replace(hour=8, minute=0, second=0, microsecond=0)
        session = await ok(
            client.post(
                f"{se}/circles/{circle.circle_id}/sessions",
                json={
                    "starts_at": starts.isoformat(),
                    "duration_minutes": 75,
                    "activity_id": "promote-everyday-product",
                },
                headers=facilitator,
            ),
            201,
        )
        circle.session_id = session["id"]

        settings = NotificationsSettings(app_base_url=web)
        links, problems = built_links(settings, pair, circle)
        assert not problems, "\n".join(problems)
        off_site = [
            f"{link.kind}.{link.key}: {link.url}" for link in links if not link.url.startswith(web + "/")
        ]
        assert not off_site, "links off the web app:\n" + "\n".join(off_site)
        ids = _ids(pair, circle)
        shapes = {_shape(mail_links.path_of(link.url), None, ids) for link in links}
        assert len(shapes) >= 20, shapes

        # What was really e-mailed (both cohorts, once the circle session's invitation is out) is
        # among the built shapes: the walk's e-mails follow the builders this test enumerates.
        session_path = f"/circles/{circle.circle_id}/sessions/{circle.session_id}"

        async def invitation_mailed() -> list[mail_links.MailLink] | None:
            found = await mail_links.collect(
                client,
                sink_url=smtp_sink.web_url,
                notifications_url=no,
                hr_headers=hr,
                base_url=web,
                cohort_ids=[pair.cohort_id, circle.cohort_id],
            )
            kinds = mail_links.kinds(found)
            wanted = {"match_proposed", "pair_formed", "agreement_to_confirm", "circle_session_scheduled"}
            return found if wanted <= kinds and any(session_path in x.path for x in found) else None

        mailed = await eventually(invitation_mailed, "the walk's e-mails", timeout=120)
        literals = {seg for shape in shapes for seg in re.split(r"[/?&=]", shape)} - {"*"}
        strays = sorted(
            {f"{x.kind}: {x.path}" for x in mailed if _shape(x.path, literals, ids) not in shapes}
        )
        assert not strays, "e-mailed links no builder here produced:\n" + "\n".join(strays)

        # The unsubscribe link: notifications' own page, not the web app's; excluded on purpose.
        messages = await mail_links.sink_messages(client, smtp_sink.web_url)
        mine = [x for x in messages if x["to"] == pair.mentor["email"]]
        assert mine, "no e-mail to the mentor"
        header = (mine[0].get("headers") or {}).get("List-Unsubscribe", "")
        unsubscribe = header.strip("<>")
        assert urlsplit(unsubscribe).path.startswith("/unsubscribe/"), header
        assert not unsubscribe.startswith(web), "the unsubscribe link is notifications', not the web app's"
        assert all("/unsubscribe/" not in link.url for link in links)
        token = urlsplit(unsubscribe).path.rsplit("/", 1)[1]
        as_mentor = participant_headers(pair.mentor["employee_id"])
        before = (await ok(client.get(f"{no}/me/preferences", headers=as_mentor)))["effective"]["channels"]
        assert "email" in before, before

    # Each link, opened as the person the e-mail is written to.
    failures: list[str] = []
    opened = 0
    by_audience: dict[str, dict[str, Link]] = {}
    for link in links:
        by_audience.setdefault(link.audience, {}).setdefault(mail_links.path_of(link.url), link)
    for audience, paths in sorted(by_audience.items()):
        context = await browser.new_context(base_url=web)
        page = await context.new_page()
        await sign_in_dev(page, as_=audience)
        for path, link in sorted(paths.items()):
            response = await page.goto(path)
            status = response.status if response else 0
            h1 = page.locator("h1")
            count = await h1.count()
            heading = (await h1.first.text_content() or "").strip() if count else ""
            landed = urlsplit(page.url).path
            expected = (
                f"/relationships/{pair.relationship_id}"
                if path.startswith("/pairs/")
                else urlsplit(path).path
            )
            if status != 200 or count != 1 or heading in ERROR_HEADINGS or landed != expected:
                failures.append(
                    f"{link.kind}.{link.key} as {audience}: {path} -> {status} {landed} h1={count} {heading!r}"
                )
                continue
            await assert_no_axe_violations(page)
            await screenshot(page, f"{link.kind}-{link.key}")
            # Usable at phone width: nothing makes the page scroll sideways (wide tables scroll
            # inside their own box).
            await page.set_viewport_size(PHONE)
            wide, room = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if wide > room:
                culprits = await page.evaluate(WIDEST)
                failures.append(
                    f"{link.kind}.{link.key} as {audience}: {path} is {wide} px wide at {room} px: {culprits}"
                )
            await page.set_viewport_size(DESKTOP)
            opened += 1
        await context.close()
    assert not failures, "\n".join(failures)
    assert opened == sum(len(p) for p in by_audience.values())

    # The unsubscribe link's GET: its confirmation page, and e-mail still on.
    async with httpx.AsyncClient(timeout=30) as plain:
        page_response = await plain.get(f"{no}/unsubscribe/{token}")
        assert page_response.status_code == 200, page_response.text
        assert "<form" in page_response.text and "One-Click" in page_response.text, page_response.text
        after = (await ok(plain.get(f"{no}/me/preferences", headers=as_mentor)))["effective"]["channels"]
        assert after == before, (before, after)
