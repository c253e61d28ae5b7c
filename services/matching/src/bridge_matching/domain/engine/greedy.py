"""Greedy baseline on the same candidate graph (for benchmarks and sanity checks).

Takes edges best-first and keeps one if both people have capacity left and it
would not put an "either" participant in a second role.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]


def greedy_bmatching(
    mentors: Idx, mentees: Idx, weights: I64, mentor_cap: I64, mentee_cap: I64
) -> npt.NDArray[np.bool_]:
    order = np.lexsort((mentees, mentors, -weights))
    left = mentor_cap.copy()
    right = mentee_cap.copy()
    role = np.zeros(mentor_cap.size, dtype=np.int8)  # 0 unused, 1 mentor, 2 mentee
    selected = np.zeros(mentors.size, dtype=np.bool_)
    ms, es = mentors.tolist(), mentees.tolist()
    lcap, rcap, roles = left.tolist(), right.tolist(), role.tolist()
    for k in order.tolist():
        m, e = ms[k], es[k]
        if lcap[m] <= 0 or rcap[e] <= 0 or roles[m] == 2 or roles[e] == 1:
            continue
        lcap[m] -= 1
        rcap[e] -= 1
        roles[m], roles[e] = 1, 2
        selected[k] = True
    return selected
