"""A participant finds their own enrolments in every cohort (GET /me/enrolments): the web app's
profile page starts there. Only the caller's own rows, by their token's employee id compared
case-insensitively; HR (no participant role) is refused."""

from __future__ import annotations

import uuid

from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-my-enrolments")


async def test_a_participant_sees_their_enrolments_in_every_cohort_and_nobody_elses(
    svc: RunningService,
) -> None:
    c = svc.client
    tag = uuid.uuid4().hex[:6].upper()
    cohorts = []
    for n in range(2):
        cid = (await c.post("/cohorts", json=cohort_body(name=f"Mine {tag} {n}"), headers=HR)).json()["id"]
        assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)).is_success
        cohorts.append(cid)
    # The same employee in both cohorts (written in two cases), another person in the first.
    me_first = person(f"ME{tag}", "mentor", 2)
    me_second = {**person(f"me{tag}".lower(), "mentee", 3), "skills_to_learn": ["strategy"]}
    other = person(f"OT{tag}", "mentee", 9)
    for cid, p in ((cohorts[0], me_first), (cohorts[1], me_second), (cohorts[0], other)):
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201

    r = await c.get("/me/enrolments", headers=auth("participant", sub=f"Me{tag}"))
    assert r.status_code == 200, r.text
    mine = r.json()
    # (Newest first in production; the service under test runs on a frozen clock.)
    assert {e["cohort_id"]: e["cohort_name"] for e in mine} == {
        cohorts[0]: f"Mine {tag} 0",
        cohorts[1]: f"Mine {tag} 1",
    }
    assert {e["participant"]["role"] for e in mine} == {"mentor", "mentee"}
    assert all(e["participant"]["employee_id"].casefold() == f"me{tag}".casefold() for e in mine)
    assert all(e["cohort_phase"] == "enrolling" and e["formats"] == ["pairs"] for e in mine)

    theirs = (await c.get("/me/enrolments", headers=auth("participant", sub=f"OT{tag}"))).json()
    assert [e["participant"]["employee_id"] for e in theirs] == [f"OT{tag}"]
    nobody = await c.get("/me/enrolments", headers=auth("participant", sub=f"NOBODY{tag}"))
    assert nobody.status_code == 200 and nobody.json() == []
    assert (await c.get("/me/enrolments", headers=HR)).status_code == 403
    bad = await c.get("/me/enrolments", params={"limit": 0}, headers=auth("participant", sub=f"ME{tag}"))
    assert bad.status_code == 422
