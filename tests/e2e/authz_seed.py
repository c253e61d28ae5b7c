"""Seeds the running platform for the authorisation matrix through the public APIs, as HR and the
participants themselves would, and waits (polling, with a deadline) for the events to propagate.

What exists afterwards (all ids in `Seed.ids`):
- cohort T, APAC only, in phase `matching`: six APAC participants; a matching run drafted three
  pairs, HR removed the third from the draft (its people, F1 and F2, stay free) and published the
  rest; both people accepted both proposals, so pairs P1 (S mentors SP) and P2 (O mentors OP) are
  formed. S is the "self" participant of the matrix, O the "other".
- sessions: relationship R1 of P1 with an agreement in force (drafted by S, confirmed by SP), a
  scheduled session and a goal owned by S; R2 of P2.
- notifications: S's kick-off delivery and inbox item; S's chat webhook (a secret) is set.
- reporting: T's summary and P1's timeline.
- cohort M, EMEA+APAC, in phase `matching`: ME (EMEA mentor) and MA (APAC mentee), paired by an HR
  override (pair PM, relationship RM): the cross-region case.
- privacy (matching): Z (enrolled in M) erased (`erasure_id`); an export of S requested by HR
  (`export_id`) and one by S themself (`my_export_id`).
- cohort C, APAC only, formats circles, in phase `matching`: three juniors and three seniors (the
  seniors facilitator-eligible) formed by a circle run (`circle_run_id`, published) into two circles
  of three, every member accepted: C1 (`circle_id`; CF facilitates it, CM is a member who does not)
  and C2 (`circle2_id`; CO is one of its members, the "other" of the circle routes).
- cohort CX, EMEA+APAC, formats circles: one formed circle (`mixed_circle_id`) of an EMEA senior
  and two APAC juniors: the cross-region case for circles.
- sessions: the three circles open; C1 with an agreement in force (`circle_version`, drafted by CF, confirmed by the
  others) and a group session scheduled by CM (`circle_session_id`); `activity_id` is one of the
  activity library's.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx

from tests.e2e import waiting
from tests.service_harness import token

T = TypeVar("T")

IN_REGION = "APAC"
OUT_REGION = "AMER"
OTHER_REGION = "EMEA"
SECRET_WEBHOOK = "https://hooks.slack.com/services/T0AUTHZ/B0AUTHZ/authzmatrixsecret"
SECRET_HR_WEBHOOK = "https://hooks.slack.com/services/T0AUTHZ/B0HR/authzmatrixhrsecret"
WORKDAYS = range(5)


class SeedError(AssertionError):
    pass


@dataclass
class Seed:
    urls: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    emp: dict[str, str] = field(default_factory=dict)  # person key (S, SP, O, ...) -> employee id
    pid: dict[str, str] = field(default_factory=dict)  # person key -> matching participant id
    email: dict[str, str] = field(default_factory=dict)

    def headers(self, caller: str, *, self_person: str = "S", other_person: str = "O") -> dict[str, str]:
        """The Authorization header of one matrix caller ({} for no token)."""
        match caller:
            case "hr_admin":
                return _bearer(token("hr_admin", sub="authz-hr-admin"))
            case "hr_in":
                return _bearer(token("hr_regional", sub="authz-hr-apac", regions=(IN_REGION,)))
            case "hr_out":
                return _bearer(token("hr_regional", sub="authz-hr-amer", regions=(OUT_REGION,)))
            case "hr_emea":
                return _bearer(token("hr_regional", sub="authz-hr-emea", regions=(OTHER_REGION,)))
            case "circle_member":  # a member of circle C1 who does not facilitate it
                return _bearer(token("participant", sub=self.emp["CM"]))
            case "self":
                return _bearer(token("participant", sub=self.emp[self_person]))
            case "other":
                return _bearer(token("participant", sub=self.emp[other_person]))
            case "service":
                return _bearer(token("service", sub="authz-service"))
            case "anon":
                return {}
        raise ValueError(caller)


def _bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 60.0) -> T:
    try:
        return await waiting.eventually(probe, what, timeout)
    except AssertionError as exc:  # a seed that cannot finish is reported as such, not as a failed check
        raise SeedError(str(exc)) from exc


async def ok(response: Awaitable[httpx.Response], what: str) -> Any:  # Any: the JSON body
    r = await response
    if r.status_code >= 300:
        raise SeedError(f"seeding failed at {what}: {r.status_code} {r.text[:500]}")
    return r.json()


def profile(emp: str, role: str, region: str, tz: str, dept: str) -> dict[str, Any]:
    return {
        "employee_id": emp,
        "display_name": f"Authz {emp}",
        "email": f"{emp.lower()}@bridge.example",
        "role": role,
        "seniority_level": 3 if role == "mentor" else 11,
        "department": dept,
        "region": region,
        "timezone": tz,
        "languages": ["en"],
        "locale": "en",
        "availability": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in WORKDAYS],
        "skills_to_share": ["generative ai"] if role == "mentor" else ["strategy"],
        "skills_to_learn": ["strategy"] if role == "mentor" else ["generative ai"],
    }


def unmatchable(emp: str) -> dict[str, Any]:
    return {**profile(emp, "mentee", IN_REGION, "Asia/Singapore", "Sales"), "languages": ["fr"]}


def csv_of(rows: list[dict[str, Any]]) -> bytes:
    cols = ["employee_id", "role", "display_name", "email", "seniority_level", "department", "region"]
    cols += ["languages", "timezone"]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "languages": ";".join(r["languages"])})
    return out.getvalue().encode()


def cohort_body(name: str, regions: list[str]) -> dict[str, Any]:
    return {"name": name, "regions": regions, "hr_contact_email": "authz-hr@bridge.example"}


def agreement_body() -> dict[str, Any]:
    today = date.today()
    plan = {"learning_goals": ["generative ai"], "success_metrics": ["one demo built"]}
    return {
        "mentor": plan,
        "mentee": plan,
        "cadence_days": 14,
        "meeting_mode": "video",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=120)).isoformat(),
    }


# Circles of exactly three, at least one junior (seniority <= 4) and one senior (>= 8) in each: the
# six people of cohort C make exactly two circles.
CIRCLE_POLICY = {
    "circle_min_size": 3,
    "circle_max_size": 3,
    "circle_min_juniors": 1,
    "circle_min_seniors": 1,
    "circle_junior_max_level": 4,
    "circle_senior_min_level": 8,
    "circle_min_common_minutes": 60,
}


def circle_person(emp: str, senior: bool, dept: str) -> dict[str, Any]:
    """One of cohort C: a junior (level 3) or a senior (level 11, facilitator-eligible)."""
    body = profile(emp, "mentee" if senior else "mentor", IN_REGION, "Asia/Singapore", dept)
    return {**body, "facilitator_eligible": senior}


def circle_agreement_body() -> dict[str, Any]:
    return {
        "shared_goals": ["promote an everyday product"],
        "cadence_days": 14,
        "rules_of_engagement": "every generation speaks",
        "end_date": (date.today() + timedelta(days=120)).isoformat(),
    }


def future(days: int) -> str:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
    return start.isoformat()


async def seed(urls: dict[str, str]) -> Seed:
    s = Seed(urls)
    tag = uuid.uuid4().hex[:6].upper()
    m, se, no, rp = (urls[x] for x in ("matching", "sessions", "notifications", "reporting"))
    async with httpx.AsyncClient(timeout=60, headers=s.headers("hr_admin")) as hr:

        def as_person(key: str) -> dict[str, str]:
            return _bearer(token("participant", sub=s.emp[key]))

        # -- cohort T (APAC) -------------------------------------------------------------------
        cohort = await ok(hr.post(f"{m}/cohorts", json=cohort_body(f"Authz T {tag}", [IN_REGION])), "T")
        t = s.ids["cohort_id"] = cohort["id"]
        await ok(hr.post(f"{m}/cohorts/{t}/phase", json={"to_phase": "enrolling"}), "T enrolling")
        people = [(f"AZ{tag}-M{i}", "mentor") for i in range(3)] + [
            (f"AZ{tag}-L{i}", "mentee") for i in range(3)
        ]
        profiles = {
            emp: profile(
                emp, role, IN_REGION, "Asia/Singapore", "Engineering" if role == "mentor" else "Sales"
            )
            for emp, role in people
        }
        by_emp: dict[str, str] = {}
        for body in profiles.values():
            row = await ok(hr.post(f"{m}/cohorts/{t}/participants", json=body), "enrol")
            by_emp[body["employee_id"]] = row["id"]
        # An HRIS import job of T: one more person, who speaks no language anyone else speaks (so
        # the matching run leaves them out); the CSV carries no availability, which matching needs.
        s.emp["X"] = f"AZ{tag}-X"
        first = unmatchable(s.emp["X"])
        job = await ok(
            hr.post(
                f"{m}/cohorts/{t}/imports", content=csv_of([first]), headers={"Content-Type": "text/csv"}
            ),
            "import",
        )
        s.ids["job_id"] = job["id"]

        async def import_done() -> bool:
            r = await hr.get(f"{m}/imports/{job['id']}")
            return r.status_code == 200 and r.json()["status"] in ("completed", "failed")

        await eventually(import_done, "the import job to finish")
        await ok(hr.post(f"{m}/cohorts/{t}/phase", json={"to_phase": "matching"}), "T matching")
        run = await ok(hr.post(f"{m}/cohorts/{t}/matching-runs", params={"wait": "true"}), "run")

        async def drafted() -> dict[str, Any] | None:
            r = (await hr.get(f"{m}/matching-runs/{run['id']}")).json()
            return r if r["status"] not in ("queued", "running") else None

        run = await eventually(drafted, "the matching run", timeout=120)
        if run["status"] != "draft" or len(run["pairs"]) != 3:
            raise SeedError(f"expected a draft of 3 pairs, got {run['status']}: {run}")
        s.ids["run_id"] = run["id"]
        p1, p2, p3 = run["pairs"]
        s.ids["draft_pair_id"], s.ids["draft_pair2_id"] = p1["id"], p2["id"]
        for key, emp in (
            ("S", p1["mentor_employee_id"]),
            ("SP", p1["mentee_employee_id"]),
            ("O", p2["mentor_employee_id"]),
            ("OP", p2["mentee_employee_id"]),
            ("F1", p3["mentor_employee_id"]),
            ("F2", p3["mentee_employee_id"]),
        ):
            s.emp[key], s.pid[key], s.email[key] = emp, by_emp[emp], profiles[emp]["email"]
        await ok(hr.delete(f"{m}/matching-runs/{run['id']}/pairs/{p3['id']}"), "remove P3 from the draft")
        await ok(hr.post(f"{m}/matching-runs/{run['id']}/publish"), "publish")
        proposals = await ok(hr.get(f"{m}/cohorts/{t}/proposals"), "proposals")
        emp_of = {v: k for k, v in s.pid.items()}
        for prop in proposals:
            for side in ("mentor_id", "mentee_id"):
                who = emp_of[prop[side]]
                await ok(hr.post(f"{m}/proposals/{prop['id']}/accept", headers=as_person(who)), "accept")
            if prop["mentor_id"] == s.pid["S"]:
                s.ids["proposal_id"] = prop["id"]
        pairs = await ok(hr.get(f"{m}/cohorts/{t}/pairs"), "pairs")
        formed = {p["mentor_id"]: p["id"] for p in pairs}
        s.ids["pair_id"] = formed[s.pid["S"]]
        s.ids["pair2_id"] = formed[s.pid["O"]]

        # -- cohort M (EMEA + APAC): a cross-region pair -----------------------------------------
        cm = await ok(
            hr.post(f"{m}/cohorts", json=cohort_body(f"Authz M {tag}", [OTHER_REGION, IN_REGION])), "M"
        )
        mid = s.ids["mixed_cohort_id"] = cm["id"]
        await ok(hr.post(f"{m}/cohorts/{mid}/phase", json={"to_phase": "enrolling"}), "M enrolling")
        for key, emp, role, region, tz in (
            ("ME", f"AZ{tag}-EM", "mentor", OTHER_REGION, "Europe/Berlin"),
            ("MA", f"AZ{tag}-AL", "mentee", IN_REGION, "Asia/Singapore"),
        ):
            body = profile(emp, role, region, tz, "Engineering" if role == "mentor" else "Sales")
            row = await ok(hr.post(f"{m}/cohorts/{mid}/participants", json=body), "enrol M")
            s.emp[key], s.pid[key], s.email[key] = emp, row["id"], body["email"]
        # Z: enrolled in M only to be erased at the end of seeding (the privacy routes' targets).
        s.emp["Z"] = f"AZ{tag}-Z"
        zbody = unmatchable(s.emp["Z"])
        s.pid["Z"] = (await ok(hr.post(f"{m}/cohorts/{mid}/participants", json=zbody), "enrol Z"))["id"]
        await ok(hr.post(f"{m}/cohorts/{mid}/phase", json={"to_phase": "matching"}), "M matching")
        pm = await ok(
            hr.post(
                f"{m}/cohorts/{mid}/pairs",
                json={"mentor_id": s.pid["ME"], "mentee_id": s.pid["MA"], "reason": "authz cross-region"},
            ),
            "override pair in M",
        )
        s.ids["mixed_pair_id"] = pm["id"]

        # -- cohort C (APAC, circles): two circles of three -------------------------------------
        cc = await ok(
            hr.post(
                f"{m}/cohorts",
                json={
                    **cohort_body(f"Authz C {tag}", [IN_REGION]),
                    "formats": ["circles"],
                    "policy": CIRCLE_POLICY,
                },
            ),
            "C",
        )
        c = s.ids["circle_cohort_id"] = cc["id"]
        await ok(hr.post(f"{m}/cohorts/{c}/phase", json={"to_phase": "enrolling"}), "C enrolling")
        circle_people = {
            f"AZ{tag}-C{kind}{i}": circle_person(f"AZ{tag}-C{kind}{i}", kind == "S", dept)
            for i, dept in enumerate(("Engineering", "Sales", "Finance"))
            for kind in ("J", "S")
        }
        c_pid: dict[str, str] = {}
        for emp, body in circle_people.items():
            c_pid[emp] = (await ok(hr.post(f"{m}/cohorts/{c}/participants", json=body), "enrol C"))["id"]
        await ok(hr.post(f"{m}/cohorts/{c}/phase", json={"to_phase": "matching"}), "C matching")
        crun = await ok(hr.post(f"{m}/cohorts/{c}/circle-runs"), "circle run")
        if len(crun["circles"]) != 2:
            raise SeedError(f"expected a draft of 2 circles, got {crun}")
        s.ids["circle_run_id"] = crun["id"]
        c1, c2 = crun["circles"]
        s.ids["circle_id"], s.ids["circle2_id"] = c1["id"], c2["id"]
        for key, member in (
            ("CF", next(x for x in c1["members"] if x["facilitator"])),
            ("CM", next(x for x in c1["members"] if not x["facilitator"])),
            ("CO", c2["members"][0]),
        ):
            emp = member["employee_id"]
            s.emp[key], s.pid[key], s.email[key] = emp, c_pid[emp], circle_people[emp]["email"]
        await ok(hr.post(f"{m}/circle-runs/{crun['id']}/publish"), "publish circles")
        for circle in (c1, c2):
            for member in circle["members"]:
                member_auth = _bearer(token("participant", sub=member["employee_id"]))
                await ok(hr.post(f"{m}/circles/{circle['id']}/accept", headers=member_auth), "accept circle")
        formed = await ok(hr.get(f"{m}/cohorts/{c}/circles", params={"status": "formed"}), "circles")
        if {x["id"] for x in formed} != {c1["id"], c2["id"]}:
            raise SeedError(f"expected both circles formed, got {formed}")

        # -- cohort CX (EMEA + APAC, circles): one cross-region circle ------------------------------
        cx = await ok(
            hr.post(
                f"{m}/cohorts",
                json={
                    **cohort_body(f"Authz CX {tag}", [OTHER_REGION, IN_REGION]),
                    "formats": ["circles"],
                    "policy": CIRCLE_POLICY,
                },
            ),
            "CX",
        )
        x = s.ids["mixed_circle_cohort_id"] = cx["id"]
        await ok(hr.post(f"{m}/cohorts/{x}/phase", json={"to_phase": "enrolling"}), "CX enrolling")
        for emp, senior, region, tz in (
            (f"AZ{tag}-XS", True, OTHER_REGION, "Europe/Berlin"),
            (f"AZ{tag}-XJ0", False, IN_REGION, "Asia/Singapore"),
            (f"AZ{tag}-XJ1", False, IN_REGION, "Asia/Singapore"),
        ):
            body = {**circle_person(emp, senior, "Sales"), "region": region, "timezone": tz}
            await ok(hr.post(f"{m}/cohorts/{x}/participants", json=body), "enrol CX")
        await ok(hr.post(f"{m}/cohorts/{x}/phase", json={"to_phase": "matching"}), "CX matching")
        xrun = await ok(hr.post(f"{m}/cohorts/{x}/circle-runs"), "CX circle run")
        if len(xrun["circles"]) != 1:
            raise SeedError(f"expected a draft of 1 circle in CX, got {xrun}")
        [xc] = xrun["circles"]
        s.ids["mixed_circle_id"] = xc["id"]
        await ok(hr.post(f"{m}/circle-runs/{xrun['id']}/publish"), "publish CX")
        for member in xc["members"]:
            member_auth = _bearer(token("participant", sub=member["employee_id"]))
            await ok(hr.post(f"{m}/circles/{xc['id']}/accept", headers=member_auth), "accept CX")

        # -- sessions --------------------------------------------------------------------------
        async def relationships() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = []
            for cid in (t, mid):
                r = await hr.get(f"{se}/relationships", params={"cohort_id": cid})
                found += r.json() if r.status_code == 200 else []
            return found if len(found) >= 3 else None

        by_pair = {r["pair_id"]: r["id"] for r in await eventually(relationships, "three relationships")}
        r1 = s.ids["relationship_id"] = by_pair[s.ids["pair_id"]]
        s.ids["relationship2_id"] = by_pair[s.ids["pair2_id"]]
        s.ids["mixed_relationship_id"] = by_pair[s.ids["mixed_pair_id"]]
        draft = await ok(
            hr.post(f"{se}/relationships/{r1}/agreement", json=agreement_body(), headers=as_person("S")),
            "draft agreement",
        )
        s.ids["version"] = str(draft["version"])
        await ok(
            hr.post(
                f"{se}/relationships/{r1}/agreement/versions/{draft['version']}/confirm",
                headers=as_person("SP"),
            ),
            "confirm agreement",
        )
        session = await ok(
            hr.post(
                f"{se}/relationships/{r1}/sessions",
                json={"starts_at": future(3), "duration_minutes": 60},
                headers=as_person("S"),
            ),
            "schedule",
        )
        s.ids["session_id"] = session["id"]
        goal = await ok(
            hr.post(f"{se}/relationships/{r1}/goals", json={"title": "ship a demo"}, headers=as_person("S")),
            "goal",
        )
        s.ids["goal_id"] = goal["id"]

        # Circle C1: opened from circle.formed; an agreement in force and a group session.
        cid1 = s.ids["circle_id"]

        async def circles_open() -> bool:
            ids = (cid1, s.ids["circle2_id"], s.ids["mixed_circle_id"])
            got = [await hr.get(f"{se}/circles/{i}") for i in ids]
            return all(r.status_code == 200 for r in got)

        await eventually(circles_open, "sessions to open the three circles")
        cdraft = await ok(
            hr.post(f"{se}/circles/{cid1}/agreement", json=circle_agreement_body(), headers=as_person("CF")),
            "draft the circle agreement",
        )
        s.ids["circle_version"] = str(cdraft["version"])
        for member in c1["members"]:
            if member["employee_id"] == s.emp["CF"]:
                continue
            member_auth = _bearer(token("participant", sub=member["employee_id"]))
            await ok(
                hr.post(
                    f"{se}/circles/{cid1}/agreement/versions/{cdraft['version']}/confirm", headers=member_auth
                ),
                "confirm the circle agreement",
            )
        view = await ok(hr.get(f"{se}/circles/{cid1}/agreement"), "the circle agreement")
        if view["active"] is None:
            raise SeedError(f"expected the circle agreement in force, got {view}")
        csession = await ok(
            hr.post(
                f"{se}/circles/{cid1}/sessions",
                json={"starts_at": future(3), "duration_minutes": 60},
                headers=as_person("CM"),
            ),
            "schedule a circle session",
        )
        s.ids["circle_session_id"] = csession["id"]
        s.ids["activity_id"] = (await ok(hr.get(f"{se}/activities"), "activities"))[0]["id"]

        # -- notifications ---------------------------------------------------------------------
        async def delivery_to(key: str, cohort: str) -> str | None:
            r = await hr.get(f"{no}/deliveries", params={"cohort_id": cohort})
            hits = [
                d["id"]
                for d in (r.json() if r.status_code == 200 else [])
                if d["recipient_id"] in (s.pid[key], s.emp[key]) or d["to_address"] == s.email[key]
            ]
            return hits[0] if hits else None

        async def _delivery_s() -> str | None:
            return await delivery_to("S", t)

        async def _delivery_me() -> str | None:
            return await delivery_to("ME", mid)

        s.ids["delivery_id"] = await eventually(_delivery_s, "a delivery to S")
        s.ids["mixed_delivery_id"] = await eventually(_delivery_me, "a delivery to ME")

        async def inbox_item() -> str | None:
            r = await hr.get(f"{no}/me/notifications", headers=as_person("S"))
            items = r.json() if r.status_code == 200 else []
            return items[0]["id"] if items else None

        s.ids["item_id"] = await eventually(inbox_item, "an inbox item for S")

        async def preferences_of(key: str) -> bool:
            return (await hr.get(f"{no}/preferences/{s.pid[key]}")).status_code == 200

        async def _pref_s() -> bool:
            return await preferences_of("S")

        async def _pref_me() -> bool:
            return await preferences_of("ME")

        await eventually(_pref_s, "notifications to know S")
        await eventually(_pref_me, "notifications to know ME")
        await ok(
            hr.put(
                f"{no}/me/preferences",
                json={
                    "chat_webhook_url": SECRET_WEBHOOK,
                    "chat_format": "slack",
                    "channels": ["email", "inbox"],
                },
                headers=as_person("S"),
            ),
            "S's webhook",
        )

        async def defaults_known() -> bool:
            r = await hr.put(
                f"{no}/cohorts/{t}/notification-defaults",
                json={"hr_chat_webhook_url": SECRET_HR_WEBHOOK, "hr_chat_format": "slack"},
            )
            return r.status_code == 200

        await eventually(defaults_known, "notifications to accept T's defaults")

        # -- reporting -------------------------------------------------------------------------
        async def reported() -> bool:
            a = await hr.get(f"{rp}/cohorts/{t}/summary")
            b = await hr.get(f"{rp}/reports/pairs/{s.ids['pair_id']}/timeline")
            c = await hr.get(f"{rp}/reports/pairs/{s.ids['mixed_pair_id']}/timeline")
            d = await hr.get(f"{rp}/cohorts/{mid}/summary")
            return all(x.status_code == 200 for x in (a, b, c, d)) and a.json().get("pairs_active", 0) >= 2

        await eventually(reported, "reporting to count T and M and their pairs")

        # -- privacy (matching): Z erased; an export of S asked by HR, one by S themself -----------------
        s.ids["erasure_id"] = (
            await ok(hr.post(f"{m}/privacy/erasures", json={"employee_id": s.emp["Z"]}), "erase Z")
        )["id"]
        s.ids["export_id"] = (
            await ok(hr.post(f"{m}/privacy/exports", json={"employee_id": s.emp["S"]}), "export S")
        )["id"]
        s.ids["my_export_id"] = (
            await ok(hr.post(f"{m}/me/privacy/exports", headers=as_person("S")), "S exports")
        )["id"]
    return s
