"""The directory's pure rules (domain/directory.py): what a change means given what is stored, what
flows into an enrolment, and the management-chain check of a formed pair."""

from __future__ import annotations

from datetime import date

import pytest

from bridge_matching.domain.directory import (
    DirectoryRecord,
    chain_breach,
    change_of_stored,
    differs,
    flowing_values,
    left_on,
    missing_for_enrolment,
    overlay,
)

TODAY = date(2027, 1, 25)


def rec(**over: object) -> DirectoryRecord:
    return DirectoryRecord.model_validate(
        {"employee_id": "E1", "display_name": "Ann", "email": "ann@corp.example", **over}
    )


def test_a_termination_date_the_pass_has_not_reached_still_makes_a_leaver() -> None:
    stale = rec(termination_date=date(2027, 1, 20))
    # Stored as live (the pass has not run): the next write makes them leave.
    change = change_of_stored(stale, None, rec(termination_date=date(2027, 1, 20), title="x"), TODAY)
    assert change.left == "terminated" and change.moved == ()
    # Stored as left: nothing more; written as active again with the date cleared: a joiner.
    assert (
        change_of_stored(stale, "terminated", rec(termination_date=date(2027, 1, 20), title="x"), TODAY).left
        is None
    )
    assert change_of_stored(stale, "terminated", rec(), TODAY).joined
    assert left_on(stale, TODAY) == date(2027, 1, 20)
    assert left_on(rec(termination_date=date(2027, 3, 1), active=False), TODAY) == TODAY


def test_what_flows_into_an_enrolment() -> None:
    r = rec(department="Sales", region="EMEA", title="Lead", timezone="Europe/Paris")
    assert flowing_values(r) == {
        "display_name": "Ann",
        "email": "ann@corp.example",
        "department": "Sales",
        "region": "EMEA",
    }
    profile = {"display_name": "Ann", "email": "ann@corp.example", "department": "Sales", "region": "EMEA"}
    assert not differs({**profile, "manager_employee_id": "M1", "timezone": "UTC"}, r)  # unknown: kept
    assert differs({**profile, "department": "Finance"}, r)
    assert overlay({"department": "Finance", "timezone": "UTC"}, r)["timezone"] == "UTC"
    assert missing_for_enrolment(r) == ["seniority_level"]
    with pytest.raises(ValueError, match="themself"):
        rec(manager_employee_id="e1")


def test_the_management_chain_rule_of_a_pair() -> None:
    managers = {"l": "x", "x": "m", "m": None, "k": "k2", "k2": "k"}  # k and k2: a cycle
    breach = chain_breach("m", "l", managers, 2)
    assert breach is not None and (breach.upper, breach.levels, breach.path) == ("mentor", 2, ("l", "x", "m"))
    assert "the mentor is now 2 levels above the mentee" in breach.reason()
    assert chain_breach("m", "l", managers, 1) is None
    assert chain_breach("m", "l", managers, 0) is None
    upward = chain_breach("l", "x", managers, 2)  # the mentee is the mentor's manager
    assert upward is not None and (upward.upper, upward.levels) == ("mentee", 1)
    assert "1 level above the mentor" in upward.reason()
    assert chain_breach("k", "m", managers, 10) is None  # a cycle ends the walk
    # The state identifies the chain without naming anyone, and differs with it.
    other = chain_breach("m", "l", {"l": "y", "y": "m"}, 2)
    assert other is not None and other.state != breach.state and len(breach.state) == 64
    assert breach.state == chain_breach("m", "l", dict(managers), 2).state  # type: ignore[union-attr]
