"""`make demo`: loads a small, realistic cohort into a running platform and walks it through the
first slice: HR creates a cohort, opens enrolment, enrols people, closes enrolment, runs matching,
reviews and publishes the draft; both people in every proposal accept with their own participant
token; sessions opens the relationships, notifications emails both people in each pair, and
reporting counts it all.

It finds the platform `make up` started through `.run/platform.json` (`bridge_devstack.runfile`;
`BRIDGE_RUN_DIR` moves it), whatever ports it runs on. Explicit settings win over the file:
`BRIDGE_DEMO_<SVC>_URL` / `BRIDGE_DEMO_MAIL_URL` (a platform elsewhere), then `BRIDGE_<SVC>_HTTP_PORT`
(the ports `make up` was given). With neither, and no file, it tries the default ports 8001-8004.

What it prints is written for HR: each score with its scale (out of the most a pair can earn under the
cohort's weights), dates in the reader's locale and time zone (`--locale`, `--timezone`; default the
system's), and, when earlier demo cohorts exist, why the pairs differ from the first run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from babel import Locale, UnknownLocaleError, default_locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent

from bridge_devstack import runfile
from bridge_devstack.demo_cohort import COHORT, PARTICIPANTS
from bridge_devstack.platform import WEB_PORT
from bridge_devstack.up import dev_token
from bridge_shared.auth.tokens import mint_token
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET, SERVICE_PORTS

T = TypeVar("T")

DEFAULT_MAIL_UI_PORT = 8025
# What each score component measures (matching's domain/engine/scoring.py), in HR's words.
CRITERIA = {
    "skills_mentor_to_mentee": "skills the reverse mentor can teach the leader",
    "skills_mentee_to_mentor": "skills the leader can give back",
    "availability": "shared working hours",
    "cross_department": "different departments",
    "requested_partner": "a partner they asked for",
    "meeting_preference": "compatible meeting preferences (in person, video, or either)",
}


# --- Where the platform is -------------------------------------------------------------------------


class PlatformNotFound(RuntimeError):
    """The platform cannot be located or reached; the message says what was tried and what to do."""


@dataclass
class Target:
    """Where the demo sends its requests, and where each address came from."""

    urls: dict[str, str]
    sources: dict[str, str]
    mail_url: str | None
    jwt: dict[str, str]
    token: str
    starting: bool = False  # the run file says bridge-up is still starting: worth waiting for
    run_file: Path | None = None
    notes: list[str] = field(default_factory=list)
    web_url: str = f"http://127.0.0.1:{WEB_PORT}"


def locate(env: dict[str, str] | None = None) -> Target:
    """Resolves the platform: explicit variables, then the run file, then the defaults.
    Raises PlatformNotFound for a stale or unreadable run file."""
    env = dict(os.environ if env is None else env)
    path = runfile.run_file(Path(env.get("BRIDGE_RUN_DIR", ".run")))
    try:
        info = runfile.read(path)
    except runfile.StaleRunFile as exc:
        raise PlatformNotFound(str(exc)) from None
    except ValueError as exc:
        raise PlatformNotFound(str(exc)) from None
    urls: dict[str, str] = {}
    sources: dict[str, str] = {}
    for svc, port in SERVICE_PORTS.items():
        url_var, port_var = f"BRIDGE_DEMO_{svc.upper()}_URL", f"BRIDGE_{svc.upper()}_HTTP_PORT"
        if env.get(url_var):
            urls[svc], sources[svc] = env[url_var].rstrip("/"), url_var
        elif env.get(port_var):
            urls[svc], sources[svc] = f"http://127.0.0.1:{int(env[port_var])}", port_var
        elif info is not None:
            urls[svc], sources[svc] = info.services[svc], str(path)
        else:
            urls[svc], sources[svc] = f"http://127.0.0.1:{port}", f"the default port; no {path}"
    if env.get("BRIDGE_DEMO_MAIL_URL"):
        mail_url: str | None = env["BRIDGE_DEMO_MAIL_URL"].rstrip("/")
    elif info is not None:
        mail_url = info.mail_url
    else:
        mail_url = f"http://127.0.0.1:{int(env.get('BRIDGE_UP_MAIL_UI_PORT', DEFAULT_MAIL_UI_PORT))}"
    jwt = {
        "secret": env.get("BRIDGE_JWT_SECRET")
        or (info.jwt.get("secret") if info else None)
        or DEV_JWT_SECRET,
        "issuer": env.get("BRIDGE_JWT_ISSUER")
        or (info.jwt.get("issuer") if info else None)
        or DEFAULT_JWT_ISSUER,
        "audience": env.get("BRIDGE_JWT_AUDIENCE")
        or (info.jwt.get("audience") if info else None)
        or DEFAULT_JWT_AUDIENCE,
    }
    token = ""
    if info is not None and not any(env.get(f"BRIDGE_JWT_{k}") for k in ("SECRET", "ISSUER", "AUDIENCE")):
        token_file = Path(info.dev_token_file) if info.dev_token_file else None
        if token_file is not None and token_file.exists():
            token = token_file.read_text(encoding="utf-8").strip()
    if env.get("BRIDGE_DEMO_WEB_URL"):
        web_url = env["BRIDGE_DEMO_WEB_URL"].rstrip("/")
    elif env.get("BRIDGE_WEB_HTTP_PORT"):
        web_url = f"http://127.0.0.1:{int(env['BRIDGE_WEB_HTTP_PORT'])}"
    elif info is not None and isinstance(info.extra.get("web_url"), str):
        web_url = info.extra["web_url"]
    else:
        web_url = f"http://127.0.0.1:{WEB_PORT}"
    return Target(
        urls=urls,
        sources=sources,
        mail_url=mail_url,
        jwt=jwt,
        token=token or dev_token(jwt),
        starting=info is not None and info.status != "ready",
        run_file=path if info is not None else None,
        web_url=web_url,
    )


def web_app_lines(web_url: str, result: dict[str, Any] | None) -> list[str]:
    """How to try what the demo did in the web app (the last lines `make demo` prints)."""
    people = {p["employee_id"]: p["display_name"] for p in PARTICIPANTS}
    someone = next(
        (
            f"{people.get(str(p.get('mentor_employee_id')), p.get('mentor_employee_id'))} "
            f"({p.get('mentor_employee_id')})"
            for p in (result or {}).get("pairs") or []
            if isinstance(p, dict) and p.get("mentor_employee_id")
        ),
        f"{PARTICIPANTS[0]['display_name']} ({PARTICIPANTS[0]['employee_id']})",
    )
    return [
        "",
        f"Try it in the web app: {web_url}",
        "  Development sign-in: choose 'global HR admin' to follow the cohort, its pairs and dashboard,",
        f"  or a demo person, e.g. {someone}, to see their relationship, agreement and sessions.",
    ]


def unreachable_message(target: Target, pending: list[str], waited: float) -> str:
    lines = [f"Cannot reach the platform after {waited:.0f} s:"]
    for svc in pending:
        lines.append(f"  {svc}: tried {target.urls[svc]}/readyz (from {target.sources[svc]})")
    from_file = any(target.sources[s] == str(target.run_file) for s in pending)
    if from_file:
        lines.append(
            f"bridge-up wrote {target.run_file} but does not answer there: see its terminal and the logs "
            "in .run/logs/ (a service may have failed to start), or stop it (Ctrl-C) and run make up again."
        )
    elif target.run_file is None:
        lines.append(
            "No platform started by make up was found here. Start it first with: make up (in another "
            "terminal, from this directory; or set BRIDGE_RUN_DIR to the .run directory of the one that "
            "runs). A platform elsewhere: set BRIDGE_DEMO_<SVC>_URL for each service."
        )
    else:
        lines.append("Check the variables named above (they win over the run file), or unset them.")
    return "\n".join(lines)


# --- How the demo speaks to HR ----------------------------------------------------------------------


def system_timezone() -> str:
    """The IANA name of this machine's time zone: $TZ, else /etc/localtime's target, else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if not tz:
        try:
            target = os.path.realpath("/etc/localtime")
        except OSError:
            target = ""
        _, sep, name = target.partition("zoneinfo/")
        tz = name if sep else ""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return tz or "UTC"


def system_locale() -> str:
    name = default_locale("LC_TIME") or "en_US"
    return "en_US" if name.endswith("POSIX") else name


@dataclass(frozen=True)
class Reader:
    """Formats numbers and dates for the person reading the demo's output."""

    locale: Locale
    tz: ZoneInfo

    @classmethod
    def of(cls, locale: str | None = None, timezone: str | None = None) -> Reader:
        return cls(Locale.parse(locale or system_locale()), ZoneInfo(timezone or system_timezone()))

    def number(self, value: float, digits: int = 1) -> str:
        return format_decimal(value, format="#,##0." + "0" * digits, locale=self.locale)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.locale)

    def day(self, value: str | date) -> str:
        d = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(d, format="long", locale=self.locale)

    def moment(self, value: str | datetime) -> str:
        """A timestamp from the API (UTC, ISO 8601) as a date and time in the reader's zone."""
        dt = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = dt.astimezone(self.tz)
        day = format_date(local, "long", locale=self.locale)
        return f"{day}, {format_time(local, 'short', locale=self.locale)} ({self.tz.key})"


def score_scale(cohort: dict[str, Any], reader: Reader) -> tuple[float, str]:
    """The most a pair can score under the cohort's weights, and a sentence saying what a score means."""
    policy = cohort.get("policy") or {}
    weights: dict[str, float] = policy.get("weights") or {}
    top = sum(weights.values())
    parts = [f"{CRITERIA.get(k, k)} (up to {reader.number(w, 0)})" for k, w in weights.items() if w]
    overlap = reader.number(policy.get("min_overlap_hours", 1), 0)
    depth = policy.get("management_exclusion_depth", 2)
    line = f", neither in the other's management line (up to {depth} levels)" if depth else ""
    sentence = (
        "   How to read a score: every pair shown already meets the hard rules (a shared language, "
        f"at least {overlap} h/week of shared working hours, the mentor less senior than the leader{line}). "
        f"The score adds up how well they fit, out of {reader.number(top, 0)}: {'; '.join(parts)}. "
        "Higher is a better fit."
    )
    return top, sentence


def scored(score: float, top: float, reader: Reader) -> str:
    share = reader.percent(score / top if top else 0.0)
    return f"score {reader.number(score)} out of {reader.number(top, 0)} ({share} of the best possible)"


def participant_headers(employee_id: str, jwt: dict[str, str] | None = None) -> dict[str, str]:
    """What a participant's identity-provider token looks like: role participant, sub = employee id."""
    jwt = jwt or {}
    token = mint_token(
        secret=jwt.get("secret") or os.environ.get("BRIDGE_JWT_SECRET", DEV_JWT_SECRET),
        subject=employee_id,
        roles=["participant"],
        issuer=jwt.get("issuer") or os.environ.get("BRIDGE_JWT_ISSUER", DEFAULT_JWT_ISSUER),
        audience=jwt.get("audience") or os.environ.get("BRIDGE_JWT_AUDIENCE", DEFAULT_JWT_AUDIENCE),
        ttl_seconds=600,
    )
    return {"Authorization": f"Bearer {token}"}


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.25)
    raise TimeoutError(f"timed out waiting for {what}")


async def _ok(response: Awaitable[httpx.Response]) -> Any:
    r = await response
    r.raise_for_status()
    return r.json()


async def wait_until_ready(urls: dict[str, str], *, timeout: float = 90.0) -> list[str]:
    """`make demo` may be typed while `make up` is still starting: wait for every /readyz. Returns the
    services still not ready after `timeout` (empty when all are)."""
    pending = dict(urls)
    deadline = time.monotonic() + timeout
    announced = False
    async with httpx.AsyncClient(timeout=2) as http:
        while pending:
            for name, url in list(pending.items()):
                try:
                    if (await http.get(f"{url}/readyz")).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if not pending or time.monotonic() > deadline:
                break
            if not announced:
                print(f"Waiting for {', '.join(sorted(pending))} to be ready ...", flush=True)
                announced = True
            await asyncio.sleep(0.5)
    return sorted(pending)


async def earlier_partners(
    http: httpx.AsyncClient, matching: str, cohort_id: str
) -> tuple[int, set[tuple[str, str]]]:
    """Earlier cohorts with the demo's people, and the (mentor, mentee) employee pairs formed there."""
    ours = {p["employee_id"] for p in PARTICIPANTS}
    cohorts = await _ok(http.get(f"{matching}/cohorts"))
    earlier = [c for c in cohorts if c["id"] != cohort_id and c["name"] == COHORT["name"]]
    seen: set[tuple[str, str]] = set()
    for c in earlier[-20:]:
        people = await http.get(f"{matching}/cohorts/{c['id']}/participants")
        pairs = await http.get(f"{matching}/cohorts/{c['id']}/pairs")
        if people.status_code != 200 or pairs.status_code != 200:
            continue
        employee = {p["id"]: p["employee_id"] for p in people.json()}
        for pair in pairs.json():
            key = (employee.get(pair["mentor_id"], ""), employee.get(pair["mentee_id"], ""))
            if key[0] in ours and key[1] in ours:
                seen.add(key)
    return len(earlier), seen


async def run_demo(
    urls: dict[str, str],
    *,
    mail_url: str | None,
    token: str,
    say: Callable[[str], None] = print,
    jwt: dict[str, str] | None = None,
    reader: Reader | None = None,
) -> dict[str, Any]:
    reader = reader or Reader.of()
    headers = {"Authorization": f"Bearer {token}"}
    m = urls["matching"]
    names = {p["employee_id"]: p["display_name"] for p in PARTICIPANTS}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        t0 = time.monotonic()
        cohort = await _ok(http.post(f"{m}/cohorts", json=COHORT))
        cid = cohort["id"]
        say(
            f"1. HR created cohort {cohort['name']!r} ({cid}) for regions {', '.join(cohort['regions'])}: "
            f"enrolment {reader.day(cohort['enrolment_opens'])} to {reader.day(cohort['enrolment_closes'])}, "
            f"programme {reader.day(cohort['programme_start'])} to {reader.day(cohort['programme_end'])}"
        )
        await _ok(http.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "enrolling"}))
        for p in PARTICIPANTS:
            await _ok(http.post(f"{m}/cohorts/{cid}/participants", json=p))
        mentors = sum(p["role"] == "mentor" for p in PARTICIPANTS)
        say(
            f"2. Opened enrolment and enrolled {len(PARTICIPANTS)} participants: {mentors} reverse mentors, "
            f"{len(PARTICIPANTS) - mentors} senior leaders"
        )
        await _ok(http.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "matching"}))
        # Runs are background jobs: wait=true answers with the finished draft when it is quick, else
        # poll the run until it leaves queued/running.
        run = await _ok(http.post(f"{m}/cohorts/{cid}/matching-runs", params={"wait": "true"}))
        async with asyncio.timeout(120):
            while run["status"] in ("queued", "running"):
                await asyncio.sleep(0.25)
                run = await _ok(http.get(f"{m}/matching-runs/{run['id']}"))
        if run["status"] != "draft":
            raise RuntimeError(f"matching run {run['id']} {run['status']}: {run.get('error')}")
        top, how_to_read = score_scale(cohort, reader)
        say(
            f"3. Closed enrolment; matching run {run['id']} drafted {len(run['pairs'])} pairs "
            f"(together {reader.number(run['stats']['total_score'])} of a possible "
            f"{reader.number(top * len(run['pairs']), 0)}):"
        )
        say(how_to_read)
        runs_before, repeated = await earlier_partners(http, m, cid)
        if runs_before:
            policy = cohort.get("policy") or {}
            rule = (
                "are not paired again (the cohort's rematch rule: allow_repeat_partners is off)"
                if not policy.get("allow_repeat_partners")
                else "may be paired again (allow_repeat_partners is on)"
            )
            examples = "; ".join(f"{names[a]} and {names[b]}" for a, b in sorted(repeated)[:3])
            more = "; ..." if len(repeated) > 3 else ""
            times = "once" if runs_before == 1 else f"{runs_before} times"
            say(
                f"   Why these pairs differ from the first run: this platform has run the demo {times} "
                f"before with the same people, and the {len(repeated)} partnerships formed then "
                f"({examples}{more}) {rule}. Matching picks the best remaining partners, so scores are "
                "lower and some people may stay unmatched. `make clean` then `make up` starts afresh."
            )
        for pair in run["pairs"]:
            say(
                f"   - {names[pair['mentor_employee_id']]} mentors {names[pair['mentee_employee_id']]}, "
                f"{scored(pair['score'], top, reader)}: {pair['explanation']}"
            )
        for u in run["unmatched"]:
            say(f"   - unmatched {names[u['employee_id']]}: {u['reason']}")
        published = await _ok(http.post(f"{m}/matching-runs/{run['id']}/publish"))
        say(
            f"4. HR reviewed and published the draft: {published['proposals']} proposals, to be answered "
            f"by {reader.moment(published['expires_at'])}"
        )
        proposals = await _ok(http.get(f"{m}/cohorts/{cid}/proposals"))
        emp_of = {p["mentor_id"]: p["mentor_employee_id"] for p in run["pairs"]}
        emp_of.update({p["mentee_id"]: p["mentee_employee_id"] for p in run["pairs"]})
        for prop in proposals:
            for side in ("mentee", "mentor"):
                employee = emp_of[prop[f"{side}_id"]]
                await _ok(
                    http.post(
                        f"{m}/proposals/{prop['id']}/accept", headers=participant_headers(employee, jwt)
                    )
                )
        pairs = await _ok(http.get(f"{m}/cohorts/{cid}/pairs"))
        say(f"5. Both people accepted every proposal with their own token: {len(pairs)} pairs formed")

        async def relationships() -> list[Any] | None:
            rel = (await http.get(f"{urls['sessions']}/relationships", params={"cohort_id": cid})).json()
            return rel if len(rel) == len(pairs) else None

        rels = await eventually(relationships, "sessions to open the relationships")
        say(
            f"6. Sessions opened {len(rels)} relationships from pair.formed events "
            f"({reader.number(time.monotonic() - t0)} s after the cohort was created)"
        )

        async def delivered() -> list[Any] | None:
            log = (
                await http.get(
                    f"{urls['notifications']}/deliveries", params={"cohort_id": cid, "status": "sent"}
                )
            ).json()
            kickoff = [
                d
                for d in log
                if d.get("kind", "pair_formed") == "pair_formed" and d.get("channel", "email") == "email"
            ]
            return kickoff if len(kickoff) == 2 * len(pairs) else None

        # Notifications may also email the proposals and paces its SMTP sends, so allow it time.
        sent = await eventually(delivered, "notifications to email both people in each pair", timeout=120)
        say(f"7. Notifications emailed {len(sent)} people over SMTP:")
        for d in sorted(sent, key=lambda d: d["to_address"]):
            say(f"   - {d['to_address']}: {d['subject']}")
        mails: list[Any] = []
        if mail_url:
            try:
                all_mail = (await http.get(f"{mail_url}/messages")).json()
            except (httpx.HTTPError, ValueError) as exc:
                say(f"   (the mail sink at {mail_url} could not be read: {exc})")
            else:
                wanted = {(d["to_address"], d["subject"]) for d in sent}
                mails = [x for x in all_mail if (x["to"], x["subject"]) in wanted]
                say(f"   the mail sink holds {len(mails)} of them: {mail_url}")

        async def summary() -> dict[str, Any] | None:
            r = await http.get(f"{urls['reporting']}/cohorts/{cid}/summary")
            if r.status_code != 200:
                return None
            body: dict[str, Any] = r.json()
            done = body["pairs_active"] == len(pairs) and body["participants"] == len(PARTICIPANTS)
            return body if done else None

        report = await eventually(summary, "reporting to count the cohort")
        say(
            f"8. Reporting: {report['participants']} participants, {report['pairs_active']} active pairs, "
            f"match rate {reader.percent(report['match_rate'])}"
        )
        say(f"Done in {reader.number(time.monotonic() - t0)} s.")
        return {
            "cohort": cohort,
            "run": run,
            "proposals": proposals,
            "pairs": pairs,
            "relationships": rels,
            "deliveries": sent,
            "mails": mails,
            "report": report,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--locale", default=None, help="dates and numbers for this locale, e.g. de_DE (default: the system's)"
    )
    parser.add_argument(
        "--timezone", default=None, help="an IANA time zone, e.g. Europe/Berlin (default: the system's)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=None,
        help="seconds to wait for the platform to be ready (default 120 while make up starts, else 10)",
    )
    args = parser.parse_args(argv)
    try:
        reader = Reader.of(args.locale, args.timezone)
    except (UnknownLocaleError, ValueError, ZoneInfoNotFoundError) as exc:
        parser.error(f"--locale/--timezone: {exc}")
    try:
        target = locate()
    except PlatformNotFound as exc:
        print(f"Cannot find the platform: {exc}", file=sys.stderr)
        sys.exit(1)
    where = f"from {target.run_file}" if target.run_file else f"at the {target.sources['matching']}"
    print(f"Platform: {target.urls['matching']} and the other services {where}", flush=True)
    timeout = args.wait if args.wait is not None else (120.0 if target.starting else 10.0)

    async def demo() -> None:
        pending = await wait_until_ready(target.urls, timeout=timeout)
        if pending:
            raise PlatformNotFound(unreachable_message(target, pending, timeout))
        result = await run_demo(
            target.urls, mail_url=target.mail_url, token=target.token, jwt=target.jwt, reader=reader
        )
        print("\n".join(web_app_lines(target.web_url, result)), flush=True)

    try:
        asyncio.run(demo())
    except PlatformNotFound as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(1)
    except httpx.TransportError as exc:
        print(f"Lost the platform mid-demo ({exc!r}). Is make up still running?", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
