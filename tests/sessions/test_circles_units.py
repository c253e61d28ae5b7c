"""Pure circle logic: the exchange index, circle health, the activity library, a held session's
outcome checked against the circle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bridge_sessions.domain import activities
from bridge_sessions.domain.circle_health import CircleInputs, CirclePolicy, assess_circle
from bridge_sessions.domain.circle_outcome import Outcome, activity_errors, outcome_errors, recorded
from bridge_sessions.domain.circle_rows import AttendanceRow, CircleMemberRow, CircleRow
from bridge_sessions.domain.exchange import exchange_index, flow_counts

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
GENERATIONS = st.sampled_from(["junior", "senior", "other"])


@given(st.lists(st.tuples(GENERATIONS, GENERATIONS), max_size=60))
def test_exchange_index_counts_only_flows_between_generations(flows: list[tuple[str, str]]) -> None:
    a, b = flow_counts({"from_generation": f, "to_generation": t} for f, t in flows)
    assert a == flows.count(("junior", "senior")) and b == flows.count(("senior", "junior"))
    idx = exchange_index(a, b)
    if a + b == 0:
        assert idx is None
    else:
        assert idx is not None and 0 <= idx <= 1 and (idx == 1) == (a == b) and (idx == 0) == (min(a, b) == 0)


def test_exchange_index_examples() -> None:
    assert exchange_index(2, 1) == 2 / 3 and exchange_index(3, 0) == 0.0 and exchange_index(0, 0) is None


def _inputs(**changes: object) -> CircleInputs:
    base: dict[str, object] = {"now": NOW, "started_at": NOW - timedelta(days=10), "members": 5}
    return CircleInputs(**{**base, **changes})  # type: ignore[arg-type]


def test_circle_health_conditions() -> None:
    p = CirclePolicy(inactivity_threshold_days=21)
    assert assess_circle(_inputs(), p).risks == {}
    idle = assess_circle(_inputs(started_at=NOW - timedelta(days=21)), p).risks
    assert set(idle) == {"inactive"} and idle["inactive"].metric == 21.0
    low = [AttendanceRow(2, 5), AttendanceRow(3, 5)]
    assert set(assess_circle(_inputs(recent_attendance=low), p).risks) == {"falling_attendance"}
    assert assess_circle(_inputs(recent_attendance=low[:1]), p).risks == {}, "judged over two sessions"
    ok = [AttendanceRow(3, 5), AttendanceRow(3, 5)]
    assert assess_circle(_inputs(recent_attendance=ok), p).risks == {}, "60% is not below 60%"
    loud = ["A", "A", "A", "A", "B", "C"]
    assert set(assess_circle(_inputs(recent_contributors=loud), p).risks) == {"dominant_voice"}
    assert assess_circle(_inputs(recent_contributors=loud[:5]), p).risks == {}, "too few to judge"
    assert assess_circle(_inputs(recent_contributors=["A", "A", "A", "B", "C", "D"]), p).risks == {}
    assert assess_circle(_inputs(recent_contributors=loud, members=2), p).risks == {}, "a pair is no crowd"
    done = assess_circle(_inputs(end_date=date(2025, 5, 31)), p)
    assert done.due_to_complete and not done.risks
    assert not assess_circle(_inputs(end_date=date(2025, 6, 1)), p).due_to_complete


def test_every_activity_speaks_the_five_locales() -> None:
    assert len(activities.ACTIVITIES) >= 5
    for a in activities.ACTIVITIES:
        assert set(a.texts) == set(activities.LOCALES)
        assert len({len(t.prompts) for t in a.texts.values()}) == 1, a.id
        assert all(t.title and t.summary and all(t.prompts) for t in a.texts.values())
    first = activities.ACTIVITIES[0]
    assert first.text("fr-CA")[0] == "fr" and first.text("pt-BR")[0] == "en" and first.text(None)[0] == "en"
    assert activity_errors("reverse-demo") == [] and activity_errors(None) == []
    assert activity_errors("nope")[0]["field"] == "activity_id"


def _circle() -> CircleRow:
    members = tuple(
        CircleMemberRow("c1", pid, n, f"E-{pid}", pid, f"{pid}@x.example", "emea", gen, "UTC", "en", None)
        for n, (pid, gen) in enumerate([("F", "senior"), ("J", "junior"), ("S", "senior"), ("X", "junior")])
    )
    erased = CircleMemberRow("c1", "E", 9, "erased", "Erased", "e@x", "emea", "junior", "UTC", "en", NOW)
    return CircleRow(
        id="c1",
        cohort_id="k",
        facilitator_id="F",
        language="en",
        weekly_slot=None,
        status="active",
        planned_end=None,
        hr_contact_email=None,
        started_at=NOW,
        closed_at=None,
        outcome=None,
        close_reason=None,
        closed_by=None,
        anonymised_at=None,
        created_at=NOW,
        members=(*members, erased),
    )


def test_a_held_outcome_names_members_who_attended() -> None:
    c = _circle()
    good = Outcome(["F", "J", "S"], [("J", "an ad")], [("J", "S", "reels"), ("S", "J", "budgets")])
    assert outcome_errors(c, good) == []
    attendance, ideas, learning = recorded(c, good)
    assert attendance == {"F": True, "J": True, "S": True, "X": False}, "every current member, not the erased"
    assert [(f["from_generation"], f["to_generation"]) for f in learning] == [
        ("junior", "senior"),
        ("senior", "junior"),
    ]
    assert ideas == [{"participant_id": "J", "text": "an ad"}]
    bad = Outcome(["F", "E", "nobody"], [("X", "absent")], [("F", "F", "self"), ("F", "X", "absent")])
    fields = [e["field"] for e in outcome_errors(c, bad)]
    assert fields == [
        "attended_ids",
        "attended_ids",
        "ideas.0.participant_id",
        "learning.0.to_id",
        "learning.1.to_id",
    ]
