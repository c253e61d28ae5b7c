"""`make demo`: loads a small, realistic cohort into a running platform and walks it through the
first slice: HR creates a cohort, opens enrolment, enrols people, closes enrolment, runs matching,
reviews and publishes the draft; both people in every proposal accept with their own participant
token; sessions opens the relationships, notifications emails both people in each pair, and
reporting counts it all."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bridge_devstack.demo_cohort import COHORT, PARTICIPANTS
from bridge_devstack.up import dev_token
from bridge_shared.auth.tokens import mint_token
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET

T = TypeVar("T")


def _url(service: str, default_port: int) -> str:
    return os.environ.get(f"BRIDGE_DEMO_{service.upper()}_URL", f"http://127.0.0.1:{default_port}")


def participant_headers(employee_id: str) -> dict[str, str]:
    """What a participant's identity-provider token looks like: role participant, sub = employee id."""
    token = mint_token(
        secret=os.environ.get("BRIDGE_JWT_SECRET", DEV_JWT_SECRET),
        subject=employee_id,
        roles=["participant"],
        issuer=os.environ.get("BRIDGE_JWT_ISSUER", DEFAULT_JWT_ISSUER),
        audience=os.environ.get("BRIDGE_JWT_AUDIENCE", DEFAULT_JWT_AUDIENCE),
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


async def wait_until_ready(urls: dict[str, str], *, timeout: float = 90.0) -> None:
    """`make demo` may be typed while `make up` is still starting: wait for every /readyz."""
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
            if not pending:
                return
            if time.monotonic() > deadline:
                raise httpx.ConnectError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
            if not announced:
                print(f"Waiting for {', '.join(sorted(pending))} to be ready ...", flush=True)
                announced = True
            await asyncio.sleep(0.5)


async def run_demo(
    urls: dict[str, str], *, mail_url: str | None, token: str, say: Callable[[str], None] = print
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    m = urls["matching"]
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        t0 = time.monotonic()
        cohort = await _ok(http.post(f"{m}/cohorts", json=COHORT))
        cid = cohort["id"]
        say(f"1. HR created cohort {cohort['name']!r} ({cid}) for regions {', '.join(cohort['regions'])}")
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
        names = {p["employee_id"]: p["display_name"] for p in PARTICIPANTS}
        say(
            f"3. Closed enrolment; matching run {run['id']} drafted {len(run['pairs'])} pairs "
            f"(total score {run['stats']['total_score']}):"
        )
        for pair in run["pairs"]:
            say(
                f"   - {names[pair['mentor_employee_id']]} mentors {names[pair['mentee_employee_id']]} "
                f"(score {pair['score']:.2f}): {pair['explanation']}"
            )
        for u in run["unmatched"]:
            say(f"   - unmatched {names[u['employee_id']]}: {u['reason']}")
        published = await _ok(http.post(f"{m}/matching-runs/{run['id']}/publish"))
        say(
            f"4. HR reviewed and published the draft: {published['proposals']} proposals, answer by "
            f"{published['expires_at']}"
        )
        proposals = await _ok(http.get(f"{m}/cohorts/{cid}/proposals"))
        emp_of = {p["mentor_id"]: p["mentor_employee_id"] for p in run["pairs"]}
        emp_of.update({p["mentee_id"]: p["mentee_employee_id"] for p in run["pairs"]})
        for prop in proposals:
            for side in ("mentee", "mentor"):
                employee = emp_of[prop[f"{side}_id"]]
                await _ok(
                    http.post(f"{m}/proposals/{prop['id']}/accept", headers=participant_headers(employee))
                )
        pairs = await _ok(http.get(f"{m}/cohorts/{cid}/pairs"))
        say(f"5. Both people accepted every proposal with their own token: {len(pairs)} pairs formed")

        async def relationships() -> list[Any] | None:
            rel = (await http.get(f"{urls['sessions']}/relationships", params={"cohort_id": cid})).json()
            return rel if len(rel) == len(pairs) else None

        rels = await eventually(relationships, "sessions to open the relationships")
        say(
            f"6. Sessions opened {len(rels)} relationships from pair.formed events "
            f"({time.monotonic() - t0:.1f}s after the cohort was created)"
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
            all_mail = (await http.get(f"{mail_url}/messages")).json()
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
            f"match rate {report['match_rate']:.0%}"
        )
        say(f"Done in {time.monotonic() - t0:.1f}s.")
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


def main() -> None:
    urls = {
        "matching": _url("matching", 8001),
        "sessions": _url("sessions", 8002),
        "notifications": _url("notifications", 8003),
        "reporting": _url("reporting", 8004),
    }
    token_file = Path(os.environ.get("BRIDGE_RUN_DIR", ".run")) / "dev-token"
    token = token_file.read_text().strip() if token_file.exists() else dev_token()
    mail_url = os.environ.get("BRIDGE_DEMO_MAIL_URL", "http://127.0.0.1:8025")

    async def demo() -> None:
        await wait_until_ready(urls)
        await run_demo(urls, mail_url=mail_url, token=token)

    try:
        asyncio.run(demo())
    except httpx.ConnectError as exc:
        print(f"Cannot reach the platform ({exc}). Start it first with: make up", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
