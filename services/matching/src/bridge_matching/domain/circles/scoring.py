"""The objective of one circle, each part in [0, 1], and their policy-weighted sum.

- mix: how well the generations mix: the mean of the balance between juniors and seniors
  (1 - |J - S| / (J + S)) and the share of cross-generation (junior, senior) pairs out of the most a
  circle of that size can have (floor(n/2) * ceil(n/2)). 4 + 4 scores 1; 2 + 2 + 4 in between 0.625.
- skills: two-way skill coverage: of all the things members want to learn, the share that another
  member of the circle can teach (a member does not cover their own wish).
- department and region spread: distinct values / the most a circle of that size could have
  (its size, or how many departments or regions the cohort has, whichever is smaller).

Skills are Python-int bitsets over one casefolded vocabulary (``prepare.CircleCohort``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge_matching.domain.circles.model import CirclePolicy, CircleScore
from bridge_matching.domain.circles.prepare import JUNIOR, SENIOR, CircleCohort

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def mix_score(juniors: int, seniors: int, size: int) -> float:
    both = juniors + seniors
    balance = 1.0 - abs(juniors - seniors) / both if both else 0.0
    most = (size // 2) * ((size + 1) // 2)
    cross = juniors * seniors / most if most else 0.0
    return 0.5 * (balance + cross)


def mix_vector(juniors: I64, seniors: I64, size: int) -> F64:
    """:func:`mix_score` for arrays of counts (one circle size)."""
    both = juniors + seniors
    balance = np.where(both > 0, 1.0 - np.abs(juniors - seniors) / np.maximum(both, 1), 0.0)
    most = (size // 2) * ((size + 1) // 2)
    cross = juniors * seniors / most if most else np.zeros(juniors.shape)
    out: F64 = 0.5 * (balance + cross)
    return out


def spread(distinct: int, size: int, available: int) -> float:
    most = min(size, available)
    return distinct / most if most else 0.0


@dataclass(frozen=True, slots=True)
class Parts:
    """One circle's objective, with the counts behind it (for explanations and statistics)."""

    mix: float
    skills: float
    department_spread: float
    region_spread: float
    total: float
    juniors: int
    seniors: int
    covered: int  # learning wishes another member can teach
    wishes: int

    def as_score(self) -> CircleScore:
        return CircleScore(
            mix=round(self.mix, 6),
            skills=round(self.skills, 6),
            department_spread=round(self.department_spread, 6),
            region_spread=round(self.region_spread, 6),
            total=round(self.total, 6),
        )


def weighted(policy: CirclePolicy, mix: float, skills: float, departments: float, regions: float) -> float:
    return (
        policy.weight_mix * mix
        + policy.weight_skills * skills
        + policy.weight_department_spread * departments
        + policy.weight_region_spread * regions
    )


def covered_wishes(cohort: CircleCohort, members: Sequence[int]) -> tuple[int, int]:
    """(wishes another member can teach, all wishes) of a group."""
    share, learn = cohort.share, cohort.learn
    n = len(members)
    prefix = [0] * (n + 1)
    for i, m in enumerate(members):
        prefix[i + 1] = prefix[i] | share[m]
    suffix = 0
    covered = wishes = 0
    for i in range(n - 1, -1, -1):
        m = members[i]
        wants = learn[m]
        covered += (wants & (prefix[i] | suffix)).bit_count()
        wishes += wants.bit_count()
        suffix |= share[m]
    return covered, wishes


def parts(cohort: CircleCohort, members: Sequence[int]) -> Parts:
    policy = cohort.policy
    size = len(members)
    gen = cohort.gen_of
    juniors = sum(1 for m in members if gen[m] == JUNIOR)
    seniors = sum(1 for m in members if gen[m] == SENIOR)
    mix = mix_score(juniors, seniors, size)
    covered, wishes = covered_wishes(cohort, members)
    skills = covered / wishes if wishes else 0.0
    departments = spread(len({cohort.dept_of[m] for m in members}), size, cohort.n_departments)
    regions = spread(len({cohort.region_of[m] for m in members}), size, cohort.n_regions)
    total = weighted(policy, mix, skills, departments, regions)
    return Parts(mix, skills, departments, regions, total, juniors, seniors, covered, wishes)


def total_of(cohort: CircleCohort, members: Sequence[int]) -> float:
    return parts(cohort, members).total
