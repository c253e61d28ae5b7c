"""Fairness and diversity quotas: optional linear constraints on the whole pairing.

As school-choice and residency matches use them, a cohort's policy may ask for:

* ``min_cross_region_share`` X: at least X of the pairs join two regions,
  ``sum((X - cross) * x) <= -kept`` (pinned and fixed pairs count, as constants);
* ``max_same_department_share`` Y: at most Y of the pairs sit inside one department,
  ``sum((same - Y) * x) <= -kept``;
* ``region_mentor_caps`` {region: c}: mentors working in that region take at most c
  mentees in all, ``sum(x over pairs whose mentor is in the region) <= c - kept``.

Each is one row of the pairing LP (``lp.py``). A row's dual price ``mu >= 0`` enters
every pair's reduced cost as ``-mu * coefficient``; ``slack(mu)`` is the most that term
can add to any pair, which is what pricing needs to stay exhaustive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .index import PopulationIndex

Idx = npt.NDArray[np.intp]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Quotas:
    index: PopulationIndex
    names: tuple[str, ...]
    rhs: F64
    cross_share: float | None
    department_share: float | None
    region_caps: tuple[tuple[int, float], ...]  # (region code, cap) per row after the first two kinds

    @property
    def size(self) -> int:
        return len(self.names)

    def coefficients(self, m: Idx, e: Idx) -> F64:
        """(rows, pairs) coefficients of pairs (m[k], e[k])."""
        index = self.index
        rows: list[F64] = []
        if self.cross_share is not None:
            rows.append(self.cross_share - (index.region[m] != index.region[e]).astype(np.float64))
        if self.department_share is not None:
            rows.append(
                (index.department[m] == index.department[e]).astype(np.float64) - self.department_share
            )
        for region, _ in self.region_caps:
            rows.append((index.region[m] == region).astype(np.float64))
        return np.array(rows, dtype=np.float64).reshape(len(rows), m.size)

    def _lowest(self) -> F64:
        """The smallest coefficient any pair can have in each row."""
        low: list[float] = []
        if self.cross_share is not None:
            low.append(self.cross_share - 1.0)
        if self.department_share is not None:
            low.append(-self.department_share)
        low.extend(0.0 for _ in self.region_caps)
        return np.array(low, dtype=np.float64)

    def slack(self, mu: F64) -> float:
        """Upper bound of ``-mu @ coefficients`` over every possible pair."""
        return float(mu @ np.maximum(-self._lowest(), 0.0))

    def adjust(self, mu: F64, m: Idx, e: Idx) -> F64:
        """``-mu @ coefficients``: the quotas' part of each pair's reduced cost."""
        out: F64 = -(mu @ self.coefficients(m, e))
        return out


def build_quotas(index: PopulationIndex, kept: Sequence[tuple[int, int]]) -> Quotas | None:
    """The policy's quota rows, with pinned/fixed pairs ``kept`` counted in; None without quotas."""
    policy = index.policy
    km = np.array([k[0] for k in kept], dtype=np.intp)
    ke = np.array([k[1] for k in kept], dtype=np.intp)
    names: list[str] = []
    rhs: list[float] = []
    cross = policy.min_cross_region_share
    dept = policy.max_same_department_share
    if cross is not None:
        names.append("min_cross_region_share")
        rhs.append(-float((cross - (index.region[km] != index.region[ke])).sum()))
    if dept is not None:
        names.append("max_same_department_share")
        rhs.append(-float(((index.department[km] == index.department[ke]) - dept).sum()))
    caps: list[tuple[int, float]] = []
    codes = {name: i for i, name in enumerate(index.regions)}
    for region, cap in policy.region_mentor_caps:
        names.append(f"region_mentor_cap:{region}")
        code = codes.get(region, -1)
        caps.append((code, float(cap)))
        rhs.append(float(cap) - float((index.region[km] == code).sum()))
    if not names:
        return None
    return Quotas(index, tuple(names), np.array(rhs, dtype=np.float64), cross, dept, tuple(caps))


def binding_quotas(quotas: Quotas | None, m: Idx, e: Idx) -> tuple[str, ...]:
    """The quotas the pairing (m[k], e[k]) sits exactly at, in plain words for HR (the row's
    ``rhs`` already counts the pinned and fixed pairs)."""
    if quotas is None:
        return ()
    used = quotas.coefficients(m, e).sum(axis=1)
    index = quotas.index
    cap_of = dict(index.policy.region_mentor_caps)
    out: list[str] = []
    for row, name in enumerate(quotas.names):
        if used[row] < quotas.rhs[row] - 1e-6:
            continue
        if name == "min_cross_region_share":
            out.append(f"at least {quotas.cross_share:.0%} of pairs must join two regions")
        elif name == "max_same_department_share":
            out.append(f"at most {quotas.department_share:.0%} of pairs may be within one department")
        else:
            region = name.split(":", 1)[1]
            cap = cap_of[region]
            mentees = "mentee" if cap == 1 else "mentees"
            out.append(f"mentors in {region} have their cap of {cap:,} {mentees} in all")
    return tuple(out)
