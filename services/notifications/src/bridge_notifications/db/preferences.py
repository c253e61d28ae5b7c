"""Participants' own preferences (keyed by employee id) and HR's defaults per cohort."""

from __future__ import annotations

from dataclasses import fields

from bridge_notifications.domain.recipients import CohortPrefs, OwnPrefs
from bridge_shared.db.connection import Conn

_OWN = tuple(f.name for f in fields(OwnPrefs) if f.name != "updated_at")
_COHORT = tuple(f.name for f in fields(CohortPrefs))


def _channels(value: list[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None


def _as_list(value: tuple[str, ...] | None) -> list[str] | None:
    return list(value) if value is not None else None


async def own(conn: Conn, employee_id: str) -> OwnPrefs | None:
    r = await conn.fetchrow(
        f"SELECT {', '.join(_OWN)}, updated_at FROM preferences WHERE employee_id = $1", employee_id
    )
    if r is None:
        return None
    return OwnPrefs(
        **{k: r[k] for k in _OWN if k != "channels"},
        channels=_channels(r["channels"]),
        updated_at=r["updated_at"],
    )


async def save_own(conn: Conn, employee_id: str, prefs: OwnPrefs) -> None:
    values = {k: getattr(prefs, k) for k in _OWN} | {"channels": _as_list(prefs.channels)}
    await conn.execute(
        f"""INSERT INTO preferences (employee_id, {", ".join(_OWN)}, updated_at)
            VALUES ($1, {", ".join(f"${i + 2}" for i in range(len(_OWN)))}, now())
            ON CONFLICT (employee_id) DO UPDATE SET {", ".join(f"{k} = EXCLUDED.{k}" for k in _OWN)},
                updated_at = now()""",
        employee_id,
        *(values[k] for k in _OWN),
    )


async def cohort_defaults(conn: Conn, cohort_id: str | None) -> CohortPrefs | None:
    if cohort_id is None:
        return None
    r = await conn.fetchrow(
        f"SELECT {', '.join(_COHORT)} FROM cohort_defaults WHERE cohort_id = $1", cohort_id
    )
    if r is None:
        return None
    return CohortPrefs(**{k: r[k] for k in _COHORT if k != "channels"}, channels=_channels(r["channels"]))


async def save_cohort_defaults(conn: Conn, cohort_id: str, prefs: CohortPrefs) -> None:
    values = {k: getattr(prefs, k) for k in _COHORT} | {"channels": _as_list(prefs.channels)}
    await conn.execute(
        f"""INSERT INTO cohort_defaults (cohort_id, {", ".join(_COHORT)}, updated_at)
            VALUES ($1, {", ".join(f"${i + 2}" for i in range(len(_COHORT)))}, now())
            ON CONFLICT (cohort_id) DO UPDATE SET {", ".join(f"{k} = EXCLUDED.{k}" for k in _COHORT)},
                updated_at = now()""",
        cohort_id,
        *(values[k] for k in _COHORT),
    )
