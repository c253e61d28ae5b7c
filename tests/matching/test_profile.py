"""The participant profile is defined once (domain/profile.py); everything else follows from it."""

from __future__ import annotations

from bridge_matching.api.schemas import ParticipantOut, ParticipantPatch
from bridge_matching.db.participants import STAGING_COLUMNS
from bridge_matching.domain.csv_import import LISTS, OPTIONAL, REQUIRED
from bridge_matching.domain.profile import KEY, PROFILE_FIELDS, SELF_EDITABLE, ParticipantIn
from bridge_matching.domain.rows import ParticipantRow


def test_every_profile_list_follows_the_definition() -> None:
    assert (KEY, *PROFILE_FIELDS) == tuple(ParticipantIn.model_fields)
    assert set(ParticipantPatch.model_fields) == set(PROFILE_FIELDS)
    assert set(REQUIRED) | set(OPTIONAL) == set(ParticipantIn.model_fields)
    assert set(LISTS) < set(PROFILE_FIELDS) and set(PROFILE_FIELDS) > SELF_EDITABLE
    assert (KEY, *PROFILE_FIELDS) == STAGING_COLUMNS
    assert set(ParticipantIn.model_fields) <= set(ParticipantRow.__dataclass_fields__)
    assert set(ParticipantIn.model_fields) <= set(ParticipantOut.model_fields)


def test_csv_columns_are_the_ones_documented() -> None:
    assert REQUIRED == (
        "employee_id", "role", "display_name", "email", "seniority_level", "department", "region",
        "languages", "timezone",
    )  # fmt: skip
    assert OPTIONAL == (
        "manager_employee_id", "locale", "availability", "skills_to_share", "skills_to_learn",
        "meeting_preference", "capacity", "requested_partners", "blocked_partners", "facilitator_eligible",
    )  # fmt: skip
    assert sorted(SELF_EDITABLE) == sorted(set(PROFILE_FIELDS) - {
        "email", "seniority_level", "department", "manager_employee_id", "region", "facilitator_eligible",
    })  # fmt: skip
