"""`make demo`: loads a small, realistic cohort into a running platform and walks it through the
first slice: HR creates a cohort, enrols people, runs matching; sessions opens the relationships,
notifications emails both people in each pair, and reporting counts it all."""

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

T = TypeVar("T")


def _url(service: str, default_port: int) -> str:
    return os.environ.get(f"BRIDGE_DEMO_{service.upper()}_URL", f"http://127.0.0.1:{default_port}")


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.25)
    raise TimeoutError(f"timed out waiting for {what}")


async def run_demo(urls: dict[str, str], *, mail_url: str | None, token: str,
                   say: Callable[[str], None] = print) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        t0 = time.monotonic()
        r = await http.post(f"{urls['matching']}/cohorts", json=COHORT)
        r.raise_for_status()
        cohort = r.json()
        say(f"1. HR created cohort {cohort['name']!r} ({cohort['id']}) for regions {', '.join(cohort['regions'])}")
        for p in PARTICIPANTS:
            (await http.post(f"{urls['matching']}/cohorts/{cohort['id']}/participants", json=p)).raise_for_status()
        mentors = sum(p["role"] == "mentor" for p in PARTICIPANTS)
        say(f"2. Enrolled {len(PARTICIPANTS)} participants: {mentors} reverse mentors, "
            f"{len(PARTICIPANTS) - mentors} senior leaders")
        r = await http.post(f"{urls['matching']}/cohorts/{cohort['id']}/matching-runs")
        r.raise_for_status()
        run = r.json()
        names = {p["employee_id"]: p["display_name"] for p in PARTICIPANTS}
        ids = {}
        for page in [(await http.get(f"{urls['matching']}/cohorts/{cohort['id']}/participants")).json()]:
            ids = {p["id"]: p["employee_id"] for p in page}
        say(f"3. Matching run {run['id']}: {len(run['pairs'])} pairs, total score {run['stats']['total_score']}")
        for pair in run["pairs"]:
            say(f"   - {names[ids[pair['mentor_id']]]} mentors {names[ids[pair['mentee_id']]]} "
                f"(score {pair['score']:.2f}): {pair['explanation']}")
        for u in run["unmatched"]:
            say(f"   - unmatched {names[ids[u['participant_id']]]}: {u['reason']}")

        async def relationships() -> list[Any] | None:
            rel = (await http.get(f"{urls['sessions']}/relationships",
                                  params={"cohort_id": cohort["id"]})).json()
            return rel if len(rel) == len(run["pairs"]) else None

        rels = await eventually(relationships, "sessions to open the relationships")
        say(f"4. Sessions opened {len(rels)} relationships from pair.formed events "
            f"({time.monotonic() - t0:.1f}s after the cohort was created)")

        async def delivered() -> list[Any] | None:
            log = (await http.get(f"{urls['notifications']}/deliveries",
                                  params={"cohort_id": cohort["id"], "status": "sent"})).json()
            return log if len(log) == 2 * len(run["pairs"]) else None

        sent = await eventually(delivered, "notifications to email both people in each pair")
        say(f"5. Notifications emailed {len(sent)} people over SMTP:")
        for d in sorted(sent, key=lambda d: d["to_address"]):
            say(f"   - {d['to_address']}: {d['subject']}")
        mails: list[Any] = []
        if mail_url:
            all_mail = (await http.get(f"{mail_url}/messages")).json()
            wanted = {d["to_address"] for d in sent}
            mails = [m for m in all_mail if m["to"] in wanted]
            say(f"   the mail sink holds {len(mails)} of them: {mail_url}")

        async def summary() -> dict[str, Any] | None:
            r = await http.get(f"{urls['reporting']}/cohorts/{cohort['id']}/summary")
            if r.status_code != 200:
                return None
            body: dict[str, Any] = r.json()
            return body if body["pairs_active"] == len(run["pairs"]) and \
                body["participants"] == len(PARTICIPANTS) else None

        report = await eventually(summary, "reporting to count the cohort")
        say(f"6. Reporting: {report['participants']} participants, {report['pairs_active']} active pairs, "
            f"match rate {report['match_rate']:.0%}")
        say(f"Done in {time.monotonic() - t0:.1f}s.")
        return {"cohort": cohort, "run": run, "relationships": rels, "deliveries": sent, "mails": mails,
                "report": report}


def main() -> None:
    urls = {"matching": _url("matching", 8001), "sessions": _url("sessions", 8002),
            "notifications": _url("notifications", 8003), "reporting": _url("reporting", 8004)}
    token_file = Path(os.environ.get("BRIDGE_RUN_DIR", ".run")) / "dev-token"
    token = token_file.read_text().strip() if token_file.exists() else dev_token()
    try:
        asyncio.run(run_demo(urls, mail_url=os.environ.get("BRIDGE_DEMO_MAIL_URL", "http://127.0.0.1:8025"),
                             token=token))
    except httpx.ConnectError as exc:
        print(f"Cannot reach the platform ({exc}). Start it first with: make up", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
