"""The workload: one fresh cohort driven through all four services over their HTTP APIs.

HR creates the cohort and enrols 2 x `pairs` people (a reverse mentor and a senior leader per
intended pair, built so the engine can pair everyone), runs matching and publishes the draft; both
people accept every proposal with their own participant token; once sessions has opened the
relationships, every pair schedules a session three days ahead and `held` pairs also record an
earlier session and log it as held. Everything the driver got an answer for is remembered: that is
what the counters expect.

The HTTP driver keeps calling while services, PostgreSQL or the broker are down, and never lets its
own retries create or hide an effect:

- a request that was never sent (connection refused) is simply sent again;
- a request that may have been applied (the connection dropped after sending, a timeout, a 5xx) is
  retried only if it is idempotent (GETs, upserts) or after reconciling: the driver first looks the
  effect up (the cohort by name, the run by cohort, the session by its start time) and takes it if
  it is there;
- "already done" answers count as done, after checking the stored state says so (a 409 on accept is
  success only if the proposal shows this side's acceptance; on held, only if the session is held).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx

from bridge_shared.auth.tokens import mint_token
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET

log = logging.getLogger("bridge.chaos.workload")

T = TypeVar("T")
Hook = Callable[[str], Awaitable[None]]

# Where faults can be injected, in workload order.
CHECKPOINTS = ("enrolling", "published", "accepting", "scheduling", "driven")


class WorkloadError(RuntimeError):
    """The workload could not go on (an answer that is neither success nor "already done")."""


def participant_token(employee_id: str) -> str:
    return mint_token(
        secret=DEV_JWT_SECRET,
        subject=employee_id,
        roles=["participant"],
        issuer=DEFAULT_JWT_ISSUER,
        audience=DEFAULT_JWT_AUDIENCE,
        ttl_seconds=8 * 3600,
    )


# -- the driver ---------------------------------------------------------------------------------


@dataclass
class DriverStats:
    calls: int = 0
    retries: int = 0
    not_sent: int = 0  # connection refused / connect timeout: safe to send again
    ambiguous: int = 0  # sent, but no answer (or a 5xx): may have been applied
    reconciled: int = 0  # an ambiguous call whose effect was found already there
    already_done: int = 0  # a 409 that the stored state confirms as done

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


Reconcile = Callable[[], Awaitable[Any]]
OnConflict = Callable[[httpx.Response], Awaitable[Any]]

# No answer at all: the request never reached the service.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Sent (or maybe sent), no answer: the service may have applied it.
_AMBIGUOUS = (
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)


class Driver:
    def __init__(
        self, urls: dict[str, str], hr_token: str, *, concurrency: int = 8, call_deadline: float = 300.0
    ) -> None:
        self.urls = urls
        self.hr_token = hr_token
        self.sem = asyncio.Semaphore(concurrency)
        self.call_deadline = call_deadline
        self.stats = DriverStats()
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=3.0))

    async def aclose(self) -> None:
        await self.client.aclose()

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = False,
        reconcile: Reconcile | None = None,
        on_conflict: OnConflict | None = None,
    ) -> Any:
        """The JSON answer of a successful call (or what reconcile / on_conflict found)."""
        if not idempotent and method != "GET" and reconcile is None and on_conflict is None:
            raise ValueError(f"{method} {path}: a non-idempotent call needs a reconcile or conflict rule")
        headers = {"Authorization": f"Bearer {token or self.hr_token}"}
        url = self.urls[service] + path
        deadline = time.monotonic() + self.call_deadline
        attempt = 0
        self.stats.calls += 1
        while True:
            attempt += 1
            if attempt > 1:
                self.stats.retries += 1
                if time.monotonic() > deadline:
                    raise WorkloadError(f"{method} {path}: no success after {self.call_deadline:.0f}s")
                await asyncio.sleep(min(2.0, 0.2 * 2 ** min(attempt, 4)) * random.uniform(0.5, 1.0))
            maybe_applied = False
            try:
                async with self.sem:
                    r = await self.client.request(method, url, headers=headers, json=json, params=params)
            except _NOT_SENT:
                self.stats.not_sent += 1
                continue
            except _AMBIGUOUS as exc:
                self.stats.ambiguous += 1
                log.info("%s %s: no answer (%s)", method, path, type(exc).__name__)
                maybe_applied = True
            else:
                if r.status_code < 300:
                    return r.json() if r.content else None
                if r.status_code >= 500:
                    self.stats.ambiguous += 1
                    log.info("%s %s: %d %s", method, path, r.status_code, r.text[:200])
                    maybe_applied = True
                elif r.status_code == 409 and on_conflict is not None:
                    done = await on_conflict(r)
                    self.stats.already_done += 1
                    return done
                else:
                    raise WorkloadError(f"{method} {path}: {r.status_code} {r.text[:500]}")
            if maybe_applied and reconcile is not None:
                found = await reconcile()
                if found is not None:
                    self.stats.reconciled += 1
                    return found
            # idempotent, or reconciled as not applied: send again

    async def get(self, service: str, path: str, *, token: str | None = None, **params: Any) -> Any:
        return await self.call("GET", service, path, token=token, params=params or None)


async def gather_limited(
    items: Sequence[T], work: Callable[[T], Awaitable[None]], *, on_half: Callable[[], Awaitable[None]]
) -> None:
    """Runs `work` for every item (the driver's semaphore bounds the concurrency); calls `on_half`
    once half of them are done, while the rest are still running."""
    done = 0
    half = max(1, len(items) // 2)

    async def one(item: T) -> None:
        nonlocal done
        await work(item)
        done += 1
        if done == half:
            await on_half()

    async with asyncio.TaskGroup() as tg:
        for item in items:
            tg.create_task(one(item))


# -- the cohort ---------------------------------------------------------------------------------


@dataclass
class Person:
    employee_id: str
    role: str
    email: str
    index: int
    participant_id: str = ""


@dataclass
class SessionPlan:
    relationship_id: str
    starts_at: datetime
    held: bool
    session_id: str = ""


@dataclass
class Expected:
    """What the driver did and got an answer for: the effects the counters look for."""

    cohort_id: str = ""
    people: dict[str, Person] = field(default_factory=dict)  # by participant id
    # proposal id -> (mentor participant id, mentee participant id)
    proposals: dict[str, tuple[str, str]] = field(default_factory=dict)
    pairs: dict[str, str] = field(default_factory=dict)  # proposal id -> pair id
    relationships: dict[str, str] = field(default_factory=dict)  # pair id -> relationship id
    sessions: dict[str, SessionPlan] = field(default_factory=dict)  # session id -> plan

    def email(self, participant_id: str) -> str:
        return self.people[participant_id].email

    @property
    def held(self) -> list[str]:
        return [sid for sid, s in self.sessions.items() if s.held]

    @property
    def future(self) -> list[str]:
        return [sid for sid, s in self.sessions.items() if not s.held]


class Workload:
    def __init__(
        self,
        driver: Driver,
        *,
        tag: str,
        pairs: int,
        held: int,
        relationship_wait: float = 180.0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.d = driver
        self.tag = tag
        self.n = pairs
        self.n_held = min(held, pairs)
        self.relationship_wait = relationship_wait
        self.say = say
        self.domain = f"{tag}.chaos.example"
        self.name = f"Chaos {tag}"
        self.expected = Expected()
        self.timings: dict[str, float] = {}
        self.mentors = [self._person("mentor", i) for i in range(pairs)]
        self.mentees = [self._person("mentee", i) for i in range(pairs)]
        self.by_employee = {p.employee_id: p for p in self.mentors + self.mentees}

    def _person(self, role: str, i: int) -> Person:
        emp = f"{self.tag}-{'M' if role == 'mentor' else 'L'}{i:04d}"
        return Person(emp, role, f"{emp.lower()}@{self.domain}", i)

    # -- payloads ---------------------------------------------------------------------------

    def cohort_body(self) -> dict[str, Any]:
        today = date.today()
        return {
            "name": self.name,
            "regions": ["EMEA"],
            "hr_contact_email": f"hr@{self.domain}",
            "enrolment_opens": (today - timedelta(days=21)).isoformat(),
            "enrolment_closes": (today - timedelta(days=14)).isoformat(),
            "matching_date": (today - timedelta(days=13)).isoformat(),
            "programme_start": (today - timedelta(days=10)).isoformat(),
            "programme_end": (today + timedelta(days=180)).isoformat(),
            # One mentee per mentor, so the intended pairs are the only perfect matching's neighbours.
            "policy": {"max_mentees_per_mentor": 1},
        }

    def participant_body(self, p: Person) -> dict[str, Any]:
        mentor = p.role == "mentor"
        # Pair i shares a topic no one else has, so every mentee's best candidate is "their" mentor
        # and the engine can pair everyone.
        own = f"chaos topic {p.index}"
        return {
            "employee_id": p.employee_id,
            "role": p.role,
            "display_name": f"{'Mentor' if mentor else 'Leader'} {p.index}",
            "email": p.email,
            "seniority_level": 2 if mentor else 10,
            "department": ["Digital", "Analytics", "IT"][p.index % 3]
            if mentor
            else ["Finance", "Sales"][p.index % 2],
            "region": "EMEA",
            "timezone": "Europe/Berlin",
            "languages": ["en"],
            "locale": "en",
            "availability": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
            "skills_to_share": [own, "generative ai"] if mentor else [f"{own} advice", "strategy"],
            "skills_to_learn": [f"{own} advice", "strategy"] if mentor else [own, "generative ai"],
        }

    # -- steps ------------------------------------------------------------------------------

    async def run(self, hook: Hook) -> Expected:
        t0 = time.monotonic()
        await self._create_cohort()
        await self._phase("enrolling")
        await gather_limited(self.mentors + self.mentees, self._enrol, on_half=lambda: hook("enrolling"))
        self.timings["enrolled"] = time.monotonic() - t0
        await self._phase("matching")
        run = await self._matching_run()
        await self._publish(run)
        await hook("published")
        self.timings["published"] = time.monotonic() - t0
        answers = [(pid, side) for pid in self.expected.proposals for side in ("mentee", "mentor")]
        random.Random(self.tag).shuffle(answers)
        await gather_limited(answers, self._accept, on_half=lambda: hook("accepting"))
        self.timings["accepted"] = time.monotonic() - t0
        await self._relationships()
        self.timings["relationships"] = time.monotonic() - t0
        plans = self._session_plans()
        await gather_limited(plans, self._session, on_half=lambda: hook("scheduling"))
        self.timings["driven"] = time.monotonic() - t0
        await hook("driven")
        return self.expected

    async def _create_cohort(self) -> None:
        async def find() -> Any:
            cohorts = await self.d.get("matching", "/cohorts")
            return next((c for c in cohorts if c["name"] == self.name), None)

        cohort = await self.d.call("POST", "matching", "/cohorts", json=self.cohort_body(), reconcile=find)
        self.expected.cohort_id = cohort["id"]
        self.say(f"  cohort {cohort['id']} ({self.name}): {self.n} intended pairs, {self.n_held} held")

    async def _phase(self, to: str) -> None:
        cid = self.expected.cohort_id

        async def already(r: httpx.Response) -> Any:
            cohort = await self.d.get("matching", f"/cohorts/{cid}")
            if cohort["phase"] != to:
                raise WorkloadError(f"phase {to}: 409 {r.text[:300]} and the cohort is {cohort['phase']}")
            return cohort

        await self.d.call(
            "POST", "matching", f"/cohorts/{cid}/phase", json={"to_phase": to}, on_conflict=already
        )

    async def _enrol(self, p: Person) -> None:
        out = await self.d.call(
            "POST",
            "matching",
            f"/cohorts/{self.expected.cohort_id}/participants",
            json=self.participant_body(p),
            idempotent=True,  # an upsert by employee id: 201 new, 200 already there
        )
        p.participant_id = out["id"]
        self.expected.people[out["id"]] = p

    async def _matching_run(self) -> dict[str, Any]:
        cid = self.expected.cohort_id

        async def existing() -> Any:
            runs = await self.d.get("matching", f"/cohorts/{cid}/matching-runs")
            live = [r for r in runs if r["status"] != "failed"]
            return live[-1] if live else None

        async def active(r: httpx.Response) -> Any:
            body = r.json()
            run_id = body.get("active_run_id")
            if not run_id:
                raise WorkloadError(f"matching run: 409 {r.text[:300]}")
            return await self.d.get("matching", f"/matching-runs/{run_id}")

        run: dict[str, Any] = await self.d.call(
            "POST",
            "matching",
            f"/cohorts/{cid}/matching-runs",
            params={"wait": "true"},
            reconcile=existing,
            on_conflict=active,
        )
        deadline = time.monotonic() + 300
        while run["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise WorkloadError(f"matching run {run['id']} still {run['status']} after 300s")
            await asyncio.sleep(0.5)
            run = await self.d.get("matching", f"/matching-runs/{run['id']}")
        if run["status"] not in ("draft", "published"):
            raise WorkloadError(f"matching run {run['id']} {run['status']}: {run.get('error')}")
        if len(run["pairs"]) != self.n:
            self.say(f"  note: the engine drafted {len(run['pairs'])} pairs of {self.n} intended")
        return run

    async def _publish(self, run: dict[str, Any]) -> None:
        rid = run["id"]

        async def published(r: httpx.Response) -> Any:
            current = await self.d.get("matching", f"/matching-runs/{rid}")
            if current["status"] != "published":
                raise WorkloadError(f"publish: 409 {r.text[:300]} and the run is {current['status']}")
            return current

        if run["status"] != "published":
            await self.d.call("POST", "matching", f"/matching-runs/{rid}/publish", on_conflict=published)
        proposals = await self.d.get("matching", f"/cohorts/{self.expected.cohort_id}/proposals")
        for p in proposals:
            self.expected.proposals[p["id"]] = (p["mentor_id"], p["mentee_id"])

    async def _accept(self, answer: tuple[str, str]) -> None:
        proposal_id, side = answer
        mentor_id, mentee_id = self.expected.proposals[proposal_id]
        person = self.expected.people[mentor_id if side == "mentor" else mentee_id]
        token = participant_token(person.employee_id)

        async def already(r: httpx.Response) -> Any:
            p = await self.d.get("matching", f"/proposals/{proposal_id}", token=token)
            if p[f"{side}_response"] != "accepted":
                raise WorkloadError(f"accept {proposal_id} as {side}: 409 {r.text[:300]}; stored: {p}")
            return p

        out = await self.d.call(
            "POST", "matching", f"/proposals/{proposal_id}/accept", token=token, on_conflict=already
        )
        if out.get("pair_id"):
            self.expected.pairs[proposal_id] = out["pair_id"]

    async def _relationships(self) -> None:
        cid = self.expected.cohort_id
        # The second acceptance's answer names the pair; an answer lost to a fault is looked up.
        missing = [p for p in self.expected.proposals if p not in self.expected.pairs]
        if missing:
            pairs = await self.d.get("matching", f"/cohorts/{cid}/pairs")
            for pair in pairs:
                if pair.get("proposal_id") in self.expected.proposals:
                    self.expected.pairs[pair["proposal_id"]] = pair["id"]
        wanted = set(self.expected.pairs.values())
        deadline = time.monotonic() + self.relationship_wait
        rels: list[dict[str, Any]] = []
        while True:
            rels = await self.d.get("sessions", "/relationships", cohort_id=cid)
            if {r["pair_id"] for r in rels} >= wanted or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        for r in rels:
            self.expected.relationships[r["pair_id"]] = r["id"]
        if len(self.expected.relationships) < len(wanted):
            self.say(
                f"  note: only {len(self.expected.relationships)} of {len(wanted)} relationships opened "
                f"within {self.relationship_wait:.0f}s; sessions are scheduled for those"
            )
        self._mentor_of = {r["id"]: self.expected.people[r["mentor_id"]] for r in rels}

    def _session_plans(self) -> list[SessionPlan]:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        ahead = now.replace(minute=0) + timedelta(days=3)
        behind = now.replace(minute=0) - timedelta(days=2)
        rel_ids = sorted(self.expected.relationships.values())
        plans = [SessionPlan(rid, ahead + timedelta(minutes=5 * i), False) for i, rid in enumerate(rel_ids)]
        plans += [
            SessionPlan(rid, behind + timedelta(minutes=5 * i), True)
            for i, rid in enumerate(rel_ids[: self.n_held])
        ]
        return plans

    async def _session(self, plan: SessionPlan) -> None:
        mentor = self._mentor_of[plan.relationship_id]
        token = participant_token(mentor.employee_id)
        base = f"/relationships/{plan.relationship_id}/sessions"

        async def find() -> Any:
            sessions = await self.d.get("sessions", base, token=token)
            return next(
                (s for s in sessions if datetime.fromisoformat(s["starts_at"]) == plan.starts_at), None
            )

        if plan.held:
            # A session that already happened is logged (stored held, no invite, no "scheduled" mail):
            # scheduling a start in the past is refused.
            s = await self.d.call(
                "POST",
                "sessions",
                f"{base}/log",
                token=token,
                json={
                    "starts_at": plan.starts_at.isoformat(),
                    "location": "Video call",
                    "actual_duration_minutes": 40,
                    "topics": [
                        {"topic": "generative ai", "direction": "mentor_to_mentee"},
                        {"topic": "strategy", "direction": "mentee_to_mentor"},
                    ],
                },
                reconcile=find,
            )
            plan.session_id = s["id"]
            self.expected.sessions[s["id"]] = plan
            return
        s = await self.d.call(
            "POST",
            "sessions",
            base,
            token=token,
            json={"starts_at": plan.starts_at.isoformat(), "duration_minutes": 45, "location": "Video call"},
            reconcile=find,
        )
        plan.session_id = s["id"]
        self.expected.sessions[s["id"]] = plan
