"""Local improvement: swaps and moves of members between neighbouring circles that keep every hard
rule and raise the total objective.

Neighbours of a circle: circles with a language in common whose members share free time with it in
the first distinct week, the most shared first. Each round visits every circle (in the seed's order)
and applies the best improving exchange with one of its neighbours: a swap of one member each, or one
member moving to the other circle (sizes allowing). All the exchanges of a circle with all its
neighbours are checked and scored at once with numpy: a grid of |circle| x (neighbours' members)
swaps and the moves both ways. HR's pinned circles are never touched.

The budget is a number of circle visits, not a clock, so one seed always gives the same circles on
any machine and under any load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge_matching.domain.circles.builder import WorkCircle, recompute
from bridge_matching.domain.circles.prepare import JUNIOR, SENIOR, CircleCohort

NEIGHBOURS = 6
EPS = 1e-9
F = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BoolA = npt.NDArray[np.bool_]
Idx = npt.NDArray[np.intp]


def _without(rows: U64) -> U64:
    """``out[i]``: AND of every row but ``i`` (prefix and suffix ANDs along the first axis)."""
    ones = np.full((1, *rows.shape[1:]), np.uint64(0xFFFF_FFFF_FFFF_FFFF), dtype=np.uint64)
    prefix = np.concatenate([ones, np.bitwise_and.accumulate(rows, axis=0)[:-1]])
    suffix = np.concatenate([np.bitwise_and.accumulate(rows[::-1], axis=0)[::-1][1:], ones])
    out: U64 = prefix & suffix
    return out


def _covered(t: F, w: F, b: F) -> F:
    """Wishes another member can teach, summed over skills (the last axis), from the counts of
    members who share, want, and both share and want each skill."""
    out: F = np.where(t >= 2, w, np.where(t == 1, w - b, 0.0)).sum(axis=-1)
    return out


def _fits(rows: U64) -> BoolA:
    """A start slot left in every week, per leading index (rows: (..., weeks, words))."""
    out: BoolA = np.asarray(rows.any(axis=-1).all(axis=-1), dtype=np.bool_)
    return out


@dataclass(eq=False)
class _View:
    """One circle's columns, rebuilt when it changes."""

    version: int
    m: Idx
    is_j: I64
    is_s: I64
    el: I64
    dept: I64
    region: I64
    lang: U64  # (s, language words)
    lang_without: U64
    lang_all: U64
    starts: U64  # (s, weeks, words)
    starts_without: U64
    starts_all: U64
    share: F  # (s, skills) 0/1
    learn: F
    depts: dict[int, int]
    regions: dict[int, int]
    total: float
    juniors: int
    seniors: int
    facilitators: int
    t: F  # per skill: members who share it
    w: F  # who want it
    b: F  # who share and want it

    @property
    def size(self) -> int:
        return int(self.m.size)


@dataclass(frozen=True, slots=True)
class Outcome:
    moves: int
    examined: int  # circle visits
    gain: float


class Improver:
    def __init__(self, cohort: CircleCohort, circles: Sequence[WorkCircle], rng: np.random.Generator) -> None:
        self.c = cohort
        self.circles = [x for x in circles if not x.locked]
        self.rng = rng
        self._views: dict[int, _View] = {}
        self._n_skills = len(cohort.skills)

    # -- columns ----------------------------------------------------------------------------------

    def _dense(self, rows: U64) -> F:
        raw = np.ascontiguousarray(rows).view(np.uint8).reshape(rows.shape[0], -1)
        out: F = np.unpackbits(raw, axis=1, bitorder="little")[:, : self._n_skills].astype(np.float64)
        return out

    def _view(self, k: int) -> _View:
        circle = self.circles[k]
        view = self._views.get(k)
        if view is not None and view.version == circle.version:
            return view
        c = self.c
        m = np.array(circle.members, dtype=np.intp)
        g = c.gen[m]
        lang, starts = c.lang_words[m], c.starts[m]
        depts: dict[int, int] = {}
        regions: dict[int, int] = {}
        for x in circle.members:
            depts[c.dept_of[x]] = depts.get(c.dept_of[x], 0) + 1
            regions[c.region_of[x]] = regions.get(c.region_of[x], 0) + 1
        share, learn = self._dense(c.share_words[m]), self._dense(c.learn_words[m])
        is_j, is_s = (g == JUNIOR).astype(np.int64), (g == SENIOR).astype(np.int64)
        el = c.eligible[m].astype(np.int64)
        t, w, b = share.sum(0), learn.sum(0), (share * learn).sum(0)
        juniors, seniors = int(is_j.sum()), int(is_s.sum())
        total = self._totals(
            juniors, seniors, m.size, len(depts), len(regions), _covered(t, w, b), float(w.sum())
        )
        view = _View(
            version=circle.version,
            m=m,
            is_j=is_j,
            is_s=is_s,
            el=el,
            dept=c.dept[m].astype(np.int64),
            region=c.region[m].astype(np.int64),
            lang=lang,
            lang_without=_without(lang),
            lang_all=np.bitwise_and.reduce(lang, axis=0),
            starts=starts,
            starts_without=_without(starts),
            starts_all=np.bitwise_and.reduce(starts, axis=0),
            share=share,
            learn=learn,
            depts=depts,
            regions=regions,
            total=float(total),
            juniors=juniors,
            seniors=seniors,
            facilitators=int(el.sum()),
            t=t,
            w=w,
            b=b,
        )
        self._views[k] = view
        return view

    def _totals(
        self,
        juniors: object,
        seniors: object,
        size: object,
        depts: object,
        regions: object,
        covered: object,
        wishes: object,
    ) -> F:
        """The objective (``scoring.parts``'s formulas) for arrays of counts, sizes included."""
        c, policy = self.c, self.c.policy
        j, s = np.asarray(juniors, dtype=np.float64), np.asarray(seniors, dtype=np.float64)
        n = np.asarray(size, dtype=np.int64)
        both = j + s
        balance = np.where(both > 0, 1.0 - np.abs(j - s) / np.maximum(both, 1), 0.0)
        most = (n // 2) * ((n + 1) // 2)
        mix = 0.5 * (balance + np.where(most > 0, j * s / np.maximum(most, 1), 0.0))
        cov, wish = np.asarray(covered, dtype=np.float64), np.asarray(wishes, dtype=np.float64)
        skills = np.where(wish > 0, cov / np.maximum(wish, 1), 0.0)
        most_d = np.maximum(np.minimum(n, c.n_departments), 1)
        most_r = np.maximum(np.minimum(n, c.n_regions), 1)
        out: F = (
            policy.weight_mix * mix
            + policy.weight_skills * skills
            + policy.weight_department_spread * (np.asarray(depts) / most_d)
            + policy.weight_region_spread * (np.asarray(regions) / most_r)
        )
        return out

    def neighbours(self) -> list[list[int]]:
        c = self.c
        if not self.circles:
            return []
        free0 = np.stack([np.bitwise_and.reduce(c.free[x.members, 0, :], axis=0) for x in self.circles])
        out: list[list[int]] = []
        for k, circle in enumerate(self.circles):
            shared = np.bitwise_count(free0 & free0[k]).sum(axis=1, dtype=np.int64)
            shared[k] = 0
            near = np.flatnonzero(shared > 0)
            near = near[np.argsort(-shared[near], kind="stable")]
            chosen: list[int] = []
            for j in near.tolist():
                if self.circles[j].lang & circle.lang:
                    chosen.append(j)
                    if len(chosen) == NEIGHBOURS:
                        break
            out.append(chosen)
        return out

    def run(self, budget: int) -> Outcome:
        """Rounds over the circles, weakest first, until a round improves nothing or ``budget`` visits
        are spent."""
        nbrs = self.neighbours()
        visits = moves = 0
        gained = 0.0
        while visits < budget:
            improved = False
            # The weakest circles first (the most to gain), ties in the seed's order.
            shuffle = self.rng.permutation(len(self.circles))
            totals = np.array([self._view(k).total for k in range(len(self.circles))])
            weakest = np.lexsort((shuffle, totals))
            for k in weakest.tolist():
                if not nbrs[k]:
                    continue
                if visits >= budget:
                    break
                visits += 1
                gain = self._exchange(k, nbrs[k])
                if gain > EPS:
                    moves += 1
                    gained += gain
                    improved = True
            if not improved:
                break
        return Outcome(moves, visits, gained)

    # -- one circle and its neighbours ------------------------------------------------------------

    def _exchange(self, ka: int, others: list[int]) -> float:
        """Applies the best improving swap or move between circle ``ka`` and one of ``others``."""
        c, policy = self.c, self.c.policy
        a = self._view(ka)
        views = [self._view(k) for k in others]
        p = a.size
        sizes = np.array([v.size for v in views], dtype=np.int64)
        col_k = np.repeat(np.arange(len(views)), sizes)  # which neighbour each column belongs to
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        cm = np.concatenate([v.m for v in views])
        q = cm.size
        cat = np.concatenate
        is_j, is_s, el = (
            cat([v.is_j for v in views]),
            cat([v.is_s for v in views]),
            cat([v.el for v in views]),
        )
        dept, region = cat([v.dept for v in views]), cat([v.region for v in views])
        lang, lang_wo = cat([v.lang for v in views]), cat([v.lang_without for v in views])
        starts, starts_wo = cat([v.starts for v in views]), cat([v.starts_without for v in views])
        share, learn = cat([v.share for v in views]), cat([v.learn for v in views])
        kj = np.array([v.juniors for v in views])
        ks = np.array([v.seniors for v in views])
        bj, bs = kj[col_k], ks[col_k]
        be = np.array([v.facilitators for v in views])[col_k]
        b_size = sizes[col_k]
        b_total = np.array([v.total for v in views])
        aj, as_, ae = a.juniors, a.seniors, a.facilitators

        # Clashes (chains, blocks): clash[i, j] = a_i and column j may not share a circle.
        clash = np.zeros((p, q), dtype=np.bool_)
        cols = {x: j for j, x in enumerate(cm.tolist())}
        for i, x in enumerate(a.m.tolist()):
            for y in c.forbidden[x]:
                j = cols.get(y)
                if j is not None:
                    clash[i, j] = True
        clash_n = clash.astype(np.int64)
        clash_circle = np.add.reduceat(clash_n, bounds[:-1], axis=1)  # (p, K)
        a_hits = clash_n.sum(axis=0)  # per column: members of A it clashes with

        # Skills: only those someone here wants and someone here shares (no other can change coverage).
        used = np.flatnonzero(
            (a.w + np.stack([v.w for v in views]).sum(0) > 0)
            & (a.t + np.stack([v.t for v in views]).sum(0) > 0)
        )
        sha, lea, shb, leb = a.share[:, used], a.learn[:, used], share[:, used], learn[:, used]
        bta, btb = sha * lea, shb * leb
        ta, wa, ba = a.t[used], a.w[used], a.b[used]
        # Learning wishes count every skill wanted (shared here or not): whole rows, not ``used``.
        a_wants, wants = a.learn.sum(axis=1), learn.sum(axis=1)
        a_wishes = float(a.w.sum())
        k_wishes = np.array([float(v.w.sum()) for v in views])
        tk = np.stack([v.t for v in views])[:, used]  # (K, skills)
        wk = np.stack([v.w for v in views])[:, used]
        bk = np.stack([v.b for v in views])[:, used]

        # Departments and regions: who is alone in their circle, who would be new.
        def lost(counts: dict[int, int], values: I64) -> I64:
            return np.array([counts[x] == 1 for x in values.tolist()], dtype=np.int64)

        a_lost_d, a_lost_r = lost(a.depts, a.dept), lost(a.regions, a.region)
        b_lost_d = cat([lost(v.depts, v.dept) for v in views])
        b_lost_r = cat([lost(v.regions, v.region) for v in views])
        a_has_d = np.array([a.depts.get(x, 0) for x in dept.tolist()], dtype=np.int64)  # per column
        a_has_r = np.array([a.regions.get(x, 0) for x in region.tolist()], dtype=np.int64)
        # (p, K): how many of neighbour k's members share a_i's department / region.
        k_has_d = np.array([[v.depts.get(x, 0) for v in views] for x in a.dept.tolist()], dtype=np.int64)
        k_has_r = np.array([[v.regions.get(x, 0) for v in views] for x in a.region.tolist()], dtype=np.int64)
        nd_a, nr_a = len(a.depts), len(a.regions)
        nd_b = np.array([len(v.depts) for v in views])[col_k]
        nr_b = np.array([len(v.regions) for v in views])[col_k]

        best, best_move = EPS, ("", -1, -1)

        # Swaps a_i <-> column j.
        ja = aj - a.is_j[:, None] + is_j[None, :]
        sa = as_ - a.is_s[:, None] + is_s[None, :]
        jb = bj[None, :] + a.is_j[:, None] - is_j[None, :]
        sb = bs[None, :] + a.is_s[:, None] - is_s[None, :]
        ok = (ja >= policy.min_juniors) & (sa >= policy.min_seniors)
        ok &= (jb >= policy.min_juniors) & (sb >= policy.min_seniors)
        ok &= ae - a.el[:, None] + el[None, :] >= 1
        ok &= be[None, :] + a.el[:, None] - el[None, :] >= 1
        ok &= (a_hits[None, :] - clash_n) == 0  # column j with A minus a_i
        ok &= (clash_circle[:, col_k] - clash_n) == 0  # a_i with j's circle minus j
        ok &= (a.lang_without[:, None, :] & lang[None, :, :]).any(axis=-1)
        ok &= (lang_wo[None, :, :] & a.lang[:, None, :]).any(axis=-1)
        if ok.any():
            ok &= _fits(a.starts_without[:, None] & starts[None, :])
            ok &= _fits(starts_wo[None, :] & a.starts[:, None])
        ii, jj = np.nonzero(ok)  # score only the feasible swaps
        if ii.size:
            kk = col_k[jj]
            eq_d = a.dept[ii] == dept[jj]
            eq_r = a.region[ii] == region[jj]
            da = nd_a - a_lost_d[ii] + ((a_has_d[jj] - eq_d) == 0)
            ra = nr_a - a_lost_r[ii] + ((a_has_r[jj] - eq_r) == 0)
            db = nd_b[jj] - b_lost_d[jj] + ((k_has_d[ii, kk] - eq_d) == 0)
            rb = nr_b[jj] - b_lost_r[jj] + ((k_has_r[ii, kk] - eq_r) == 0)
            dt = shb[jj] - sha[ii]
            dw = leb[jj] - lea[ii]
            db_ = btb[jj] - bta[ii]
            cov_a = _covered(ta + dt, wa + dw, ba + db_)
            cov_b = _covered(tk[kk] - dt, wk[kk] - dw, bk[kk] - db_)
            moved = wants[jj] - a_wants[ii]
            gain = self._totals(ja[ii, jj], sa[ii, jj], p, da, ra, cov_a, a_wishes + moved)
            gain += self._totals(jb[ii, jj], sb[ii, jj], b_size[jj], db, rb, cov_b, k_wishes[kk] - moved)
            gain -= a.total + b_total[kk]
            at = int(np.argmax(gain))
            if gain[at] > best:
                best, best_move = float(gain[at]), ("swap", int(ii[at]), int(jj[at]))

        # Moves of a_i to neighbour k.
        room = sizes < policy.max_size
        if p > policy.min_size and room.any():
            ok = (
                (aj - a.is_j >= policy.min_juniors) & (as_ - a.is_s >= policy.min_seniors) & (ae - a.el >= 1)
            )[:, None] & room[None, :]
            ok &= clash_circle == 0
            lang_all = np.stack([v.lang_all for v in views])
            starts_all = np.stack([v.starts_all for v in views])
            ok &= (a.lang[:, None, :] & lang_all[None, :, :]).any(axis=-1)
            if ok.any():
                ok &= _fits(a.starts[:, None] & starts_all[None, :])
            if ok.any():
                cov_out = _covered(ta - sha, wa - lea, ba - bta)  # (p,)
                left = self._totals(
                    aj - a.is_j,
                    as_ - a.is_s,
                    p - 1,
                    nd_a - a_lost_d,
                    nr_a - a_lost_r,
                    cov_out,
                    a_wishes - a_wants,
                )
                cov_in = _covered(tk[None] + sha[:, None], wk[None] + lea[:, None], bk[None] + bta[:, None])
                joined = self._totals(
                    kj[None, :] + a.is_j[:, None],
                    ks[None, :] + a.is_s[:, None],
                    sizes[None, :] + 1,
                    np.array([len(v.depts) for v in views])[None, :] + (k_has_d == 0),
                    np.array([len(v.regions) for v in views])[None, :] + (k_has_r == 0),
                    cov_in,
                    k_wishes[None, :] + a_wants[:, None],
                )
                gain = left[:, None] + joined - a.total - b_total[None, :]
                gain = np.where(ok, gain, -np.inf)
                at_i, at_k = np.unravel_index(int(np.argmax(gain)), gain.shape)
                if gain[at_i, at_k] > best:
                    best, best_move = float(gain[at_i, at_k]), ("out", int(at_i), int(at_k))

        # Moves of column j into A.
        if p < policy.max_size and q:
            ok = (
                (b_size > policy.min_size)
                & (bj - is_j >= policy.min_juniors)
                & (bs - is_s >= policy.min_seniors)
            )
            ok &= (be - el >= 1) & (a_hits == 0)
            ok &= (lang & a.lang_all[None, :]).any(axis=-1)
            if ok.any():
                ok &= _fits(starts & a.starts_all[None])
            if ok.any():
                cov_in = _covered(ta[None] + shb, wa[None] + leb, ba[None] + btb)
                joined = self._totals(
                    aj + is_j,
                    as_ + is_s,
                    p + 1,
                    nd_a + (a_has_d == 0),
                    nr_a + (a_has_r == 0),
                    cov_in,
                    a_wishes + wants,
                )
                cov_out = _covered(tk[col_k] - shb, wk[col_k] - leb, bk[col_k] - btb)
                left = self._totals(
                    bj - is_j,
                    bs - is_s,
                    b_size - 1,
                    nd_b - b_lost_d,
                    nr_b - b_lost_r,
                    cov_out,
                    k_wishes[col_k] - wants,
                )
                gain = np.where(ok, joined + left - a.total - b_total[col_k], -np.inf)
                j = int(np.argmax(gain))
                if gain[j] > best:
                    best, best_move = float(gain[j]), ("in", j, -1)

        kind, i, j = best_move
        if not kind:
            return 0.0
        ca = self.circles[ka]
        if kind == "swap":
            nb = int(col_k[j])
            cb = self.circles[others[nb]]
            at = j - int(bounds[nb])
            ca.members[i], cb.members[at] = cb.members[at], ca.members[i]
        elif kind == "out":
            cb = self.circles[others[j]]
            cb.members.append(ca.members.pop(i))
        else:
            nb = int(col_k[i])
            cb = self.circles[others[nb]]
            ca.members.append(cb.members.pop(i - int(bounds[nb])))
        for circle in (ca, cb):
            recompute(c, circle)
            names = [lang for n, lang in enumerate(c.languages) if circle.lang >> n & 1]
            if circle.language not in names:
                circle.language = names[0]
        return best
