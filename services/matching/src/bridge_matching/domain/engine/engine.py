"""Public entry points: ``run_matching`` and ``suggest``."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .candidates import CandidateGraph, build_candidate_graph
from .constraints import pair_violations
from .explain import ReasonFinder, breakdown_from_values, breakdown_of, explain_pair
from .index import PopulationIndex
from .model import (
    AvailabilityWindow,
    MatchedPair,
    MatchResult,
    MatchStats,
    Pair,
    PairLike,
    PairOrigin,
    Participant,
    Suggestion,
    UnmatchedParticipant,
    pair_ids,
)
from .policy import MatchingPolicy
from .pricing import Pricer
from .quotas import binding_quotas, build_quotas
from .scoring import SCORE_SCALE, Scores, feasible, score
from .solver import solve_certified

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]


def _as_pair(p: PairLike) -> Pair:
    return Pair(*pair_ids(p))


@dataclass(frozen=True, slots=True)
class _People:
    index: PopulationIndex
    mentor_cap: I64  # remaining capacity per position (0 = cannot mentor now)
    mentee_cap: I64  # 1 if the position can still be matched as a mentee
    kept: tuple[tuple[int, int, PairOrigin], ...]
    requested: tuple[Idx, Idx]  # requested pairs, in both orientations


@dataclass(frozen=True, slots=True)
class PreparedCohort:
    """The cohort and its sparse candidate graph (the raw solver's input); exposed so benchmarks
    can time stages apart. ``run_matching`` does not build the graph: pricing finds its pairs."""

    index: PopulationIndex
    graph: CandidateGraph
    mentor_cap: I64
    mentee_cap: I64
    kept: tuple[tuple[int, int, PairOrigin], ...]


def prepare(
    participants: Iterable[Participant],
    policy: MatchingPolicy,
    *,
    pinned_pairs: Iterable[PairLike] = (),
    fixed_pairs: Iterable[PairLike] = (),
    history: Iterable[PairLike] = (),
    excluded_pairs: Iterable[PairLike] = (),
    org_chart: Mapping[str, str | None] | None = None,
) -> PreparedCohort:
    people = _prepare_people(
        participants, policy, pinned_pairs, fixed_pairs, history, excluded_pairs, org_chart
    )
    index, mentor_cap, mentee_cap = people.index, people.mentor_cap, people.mentee_cap
    graph = build_candidate_graph(index, mentor_cap > 0, mentee_cap > 0, extra_pairs=people.requested)
    return PreparedCohort(index, graph, mentor_cap, mentee_cap, people.kept)


def _prepare_people(
    participants: Iterable[Participant],
    policy: MatchingPolicy,
    pinned_pairs: Iterable[PairLike],
    fixed_pairs: Iterable[PairLike],
    history: Iterable[PairLike],
    excluded_pairs: Iterable[PairLike],
    org_chart: Mapping[str, str | None] | None,
) -> _People:
    index = PopulationIndex(
        participants, policy, history=history, excluded_pairs=excluded_pairs, org_chart=org_chart
    )
    kept: list[tuple[int, int, PairOrigin]] = []
    for origin, pairs in (("pinned", pinned_pairs), ("fixed", fixed_pairs)):
        for raw in pairs:
            pair = _as_pair(raw)
            m, e = index.pos.get(pair.mentor_id), index.pos.get(pair.mentee_id)
            if m is None or e is None:
                raise ValueError(f"{origin} pair {pair} references an unknown participant")
            kept.append((m, e, origin))  # type: ignore[arg-type]  # origin is one of the PairOrigin literals above; mypy widens it to str
    n = index.n
    kept_m = np.array([k[0] for k in kept], dtype=np.intp)
    kept_e = np.array([k[1] for k in kept], dtype=np.intp)
    used_as_mentor = np.bincount(kept_m, minlength=n)
    used_as_mentee = np.bincount(kept_e, minlength=n)
    # Kept pairs consume capacity and fix the role of "either" participants.
    mentor_cap = np.where(used_as_mentee > 0, 0, np.maximum(index.mentor_capacity - used_as_mentor, 0))
    mentee_cap = (index.can_mentee & (used_as_mentee == 0) & (used_as_mentor == 0)).astype(np.int64)
    requested = [
        (index.pos[p.id], index.pos[r])
        for p in index.people
        for r in p.requested_partner_ids
        if r in index.pos
    ]
    req = np.array(requested, dtype=np.intp).reshape(-1, 2)
    # Requests count in either orientation; the solver decides who mentors whom.
    extra = (np.concatenate([req[:, 0], req[:, 1]]), np.concatenate([req[:, 1], req[:, 0]]))
    return _People(index, mentor_cap.astype(np.int64), mentee_cap.astype(np.int64), tuple(kept), extra)


def run_matching(
    participants: Iterable[Participant],
    policy: MatchingPolicy,
    *,
    pinned_pairs: Iterable[PairLike] = (),
    fixed_pairs: Iterable[PairLike] = (),
    history: Iterable[PairLike] = (),
    excluded_pairs: Iterable[PairLike] = (),
    org_chart: Mapping[str, str | None] | None = None,
) -> MatchResult:
    """The best pairing of the whole cohort, with a certificate (``stats.proven_optimal``,
    ``stats.certified_gap``; see ``solver.solve_certified``).

    Pinned and fixed pairs are kept as given and consume capacity; everyone else
    is (re)matched. ``excluded_pairs`` forbids pairs in either orientation.
    ``org_chart`` optionally adds managers who are not participants.
    """
    with _gc_paused():
        t0 = time.perf_counter()
        history = tuple(history)
        excluded_pairs = tuple(excluded_pairs)
        prep = _prepare_people(
            participants, policy, pinned_pairs, fixed_pairs, history, excluded_pairs, org_chart
        )
        return _match(prep, t0, history, excluded_pairs, org_chart)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one run.

    A run allocates tens of thousands of small acyclic objects (pairs, breakdowns,
    reasons) next to the caller's large live population, so automatic gen-2 passes
    would rescan that population repeatedly (~0.3 s at 50k). Reference counting
    still frees everything; collection simply resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _match(
    prep: _People,
    t0: float,
    history: Sequence[PairLike],
    excluded_pairs: Sequence[PairLike],
    org_chart: Mapping[str, str | None] | None,
) -> MatchResult:
    """The solve and the output of ``run_matching`` (``t0``: when it started)."""
    t1 = time.perf_counter()
    index = prep.index
    pricer = Pricer(index, prep.mentor_cap > 0, prep.mentee_cap > 0, requested=prep.requested)
    quotas = build_quotas(index, [(m, e) for m, e, _ in prep.kept])
    start_m, start_e, start_u = pricer.initial_columns(INITIAL_PER_MENTEE, INITIAL_PER_MENTOR)
    outcome = solve_certified(
        pricer,
        start_m,
        start_e,
        start_u,
        prep.mentor_cap,
        prep.mentee_cap,
        quotas=quotas,
    )
    t2 = time.perf_counter()
    new_m, new_e = outcome.mentors, outcome.mentees
    chosen = score(index, new_m, new_e)
    pairs: list[MatchedPair] = []
    people = index.people
    for c, t, o, m, e in zip(
        chosen.components.T.tolist(),
        chosen.total.tolist(),
        chosen.overlap_minutes.tolist(),
        new_m.tolist(),
        new_e.tolist(),
        strict=True,
    ):
        bd = breakdown_from_values(c, t, o)
        pairs.append(MatchedPair(people[m].id, people[e].id, bd.total, bd, explain_pair(index, m, e, bd)))
    pairs.extend(_kept_pairs(prep, history, excluded_pairs, org_chart))
    pairs.sort(key=lambda p: (p.mentor_id, p.mentee_id))

    n = index.n
    as_mentor = np.bincount(new_m, minlength=n)
    as_mentee = np.bincount(new_e, minlength=n)
    spare_mentor = np.where(as_mentee > 0, 0, prep.mentor_cap - as_mentor)
    spare_mentee = np.where(as_mentor > 0, 0, prep.mentee_cap - as_mentee)
    in_pair = np.zeros(n, dtype=np.bool_)
    for m, e, _ in prep.kept:
        in_pair[m] = in_pair[e] = True
    in_pair[new_m] = True
    in_pair[new_e] = True
    # has_edge["mentor"][p]: p has a known feasible mentor, i.e. p appears as a mentee.
    # Feasible pairs already known (the LP's columns and the pricing pool) spare the reason
    # finder a search of the whole cohort for most people.
    has_mentor_edge = np.bincount(np.concatenate([outcome.column_mentees, pricer.pool_e]), minlength=n) > 0
    has_mentee_edge = np.bincount(np.concatenate([outcome.column_mentors, pricer.pool_m]), minlength=n) > 0
    finder = ReasonFinder(
        index,
        spare_mentor,
        spare_mentee,
        has_mentor_edge,
        has_mentee_edge,
        binding_quotas=binding_quotas(quotas, new_m, new_e),
    )
    unmatched: list[UnmatchedParticipant] = [finder.explain(p) for p in np.flatnonzero(~in_pair).tolist()]
    t3 = time.perf_counter()
    total = float(chosen.total.sum())
    stats = MatchStats(
        participants=n,
        free_participants=int(n - len({x for m, e, _ in prep.kept for x in (m, e)})),
        candidate_edges=outcome.columns,
        total_score=round(total, 6),
        matched_participants=int(in_pair.sum()),
        upper_bound=round(outcome.upper_bound / SCORE_SCALE, 6),
        proven_optimal=outcome.proven_optimal,
        solver_calls=outcome.solver_calls + outcome.rounds,
        certified_gap=round(outcome.gap, 9),
        pricing_rounds=outcome.rounds,
        priced_pairs=outcome.priced_pairs,
        quota_costs=outcome.quota_costs,
        timings_s={"prepare": t1 - t0, "solve": t2 - t1, "explain": t3 - t2},
    )
    return MatchResult(tuple(pairs), tuple(unmatched), stats)


INITIAL_PER_MENTEE = 4  # columns the first LP starts from, per mentee (pricing adds the rest)
INITIAL_PER_MENTOR = 2


def _kept_pairs(
    prep: _People,
    history: Sequence[PairLike],
    excluded: Sequence[PairLike],
    org_chart: Mapping[str, str | None] | None,
) -> list[MatchedPair]:
    index = prep.index
    if not prep.kept:
        return []
    manager_of: dict[str, str | None] = dict(org_chart or {})
    manager_of.update({p.id: p.manager_id for p in index.people})
    m = np.array([k[0] for k in prep.kept], dtype=np.intp)
    e = np.array([k[1] for k in prep.kept], dtype=np.intp)
    sc = score(index, m, e)
    out = []
    for k, (mi, ei, origin) in enumerate(prep.kept):
        bd = breakdown_of(sc.components[:, k], float(sc.total[k]), int(sc.overlap_minutes[k]))
        mentor, mentee = index.people[mi], index.people[ei]
        violations = pair_violations(
            mentor,
            mentee,
            index.policy,
            manager_of=manager_of,
            history=history,
            excluded_pairs=excluded,
        )
        out.append(
            MatchedPair(
                mentor.id,
                mentee.id,
                bd.total,
                bd,
                explain_pair(index, mi, ei, bd),
                origin,
                tuple(violations),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class SuggestionInputs:
    """Everything a cohort's suggestion index is built from, in a canonical order (people by id,
    pairs and the org chart sorted), so that equal data gives equal inputs whatever order it was
    loaded in. ``version`` is their hash, computed once: a cheap first test before the exact
    comparison (``SuggestionCache`` reuses an index only for *equal* inputs)."""

    participants: tuple[Participant, ...]
    policy: MatchingPolicy
    history: tuple[tuple[str, str], ...]
    excluded_pairs: tuple[tuple[str, str], ...]
    org_chart: tuple[tuple[str, str | None], ...]
    version: int = 0

    @classmethod
    def of(
        cls,
        participants: Iterable[Participant],
        policy: MatchingPolicy,
        *,
        history: Iterable[PairLike] = (),
        excluded_pairs: Iterable[PairLike] = (),
        org_chart: Mapping[str, str | None] | None = None,
    ) -> SuggestionInputs:
        people = tuple(sorted(participants, key=lambda p: p.id))
        hist = tuple(sorted(pair_ids(x) for x in history))
        excl = tuple(sorted(pair_ids(x) for x in excluded_pairs))
        chart = tuple(sorted((org_chart or {}).items(), key=lambda kv: kv[0]))
        return cls(people, policy, hist, excl, chart, hash((people, policy, hist, excl, chart)))


@dataclass(frozen=True, slots=True, eq=False)
class SuggestionIndex:
    """A cohort prepared for suggestions: its index, built once per version of its data. Who is
    taken right now (accepted pairs, open proposals) is not part of it: ``suggest_prepared`` reads
    that on every call, so occupancy changes never need a rebuild."""

    index: PopulationIndex
    inputs: SuggestionInputs


def prepare_suggestions(inputs: SuggestionInputs) -> SuggestionIndex:
    index = PopulationIndex(
        inputs.participants,
        inputs.policy,
        history=inputs.history,
        excluded_pairs=inputs.excluded_pairs,
        org_chart=dict(inputs.org_chart),
    )
    return SuggestionIndex(index, inputs)


def suggest(
    participant_id: str,
    participants: Iterable[Participant],
    policy: MatchingPolicy,
    k: int = 5,
    *,
    current_pairs: Iterable[PairLike] = (),
    history: Iterable[PairLike] = (),
    excluded_pairs: Iterable[PairLike] = (),
    org_chart: Mapping[str, str | None] | None = None,
) -> list[Suggestion]:
    """Top-k compatible partners for one participant (self-service programmes).

    Scans the whole population for this one person (O(N), vectorised); partners
    whose capacity is used up by ``current_pairs`` are skipped. Builds the cohort's index for this
    call; ``SuggestionCache`` + ``suggest_prepared`` reuse one across calls.
    """
    inputs = SuggestionInputs.of(
        participants, policy, history=history, excluded_pairs=excluded_pairs, org_chart=org_chart
    )
    return suggest_prepared(prepare_suggestions(inputs), participant_id, k, current_pairs=current_pairs)


def suggest_prepared(
    prepared: SuggestionIndex, participant_id: str, k: int = 5, *, current_pairs: Iterable[PairLike] = ()
) -> list[Suggestion]:
    """:func:`suggest` on a prepared cohort: ``current_pairs`` (who is taken now) are read here."""
    index = prepared.index
    p = index.pos.get(participant_id)
    if p is None:
        raise KeyError(participant_id)
    used_m = np.zeros(index.n, dtype=np.int64)
    used_e = np.zeros(index.n, dtype=np.int64)
    for raw in current_pairs:
        mentor_id, mentee_id = pair_ids(raw)
        if mentor_id in index.pos:
            used_m[index.pos[mentor_id]] += 1
        if mentee_id in index.pos:
            used_e[index.pos[mentee_id]] += 1
    mentor_free = (index.mentor_capacity - used_m > 0) & (used_e == 0)
    mentee_free = index.can_mentee & (used_e == 0) & (used_m == 0)
    everyone = np.arange(index.n, dtype=np.intp)
    # (-units, partner id, partner's role, mentor, mentee, scores, column): ranked first, and only
    # the k best are explained.
    options: list[tuple[int, str, str, int, int, Scores, int]] = []
    for as_role, partners in (("mentor", everyone[mentor_free]), ("mentee", everyone[mentee_free])):
        mine = np.full(partners.size, p, dtype=np.intp)
        mm, ee = (partners, mine) if as_role == "mentor" else (mine, partners)
        ok = feasible(index, mm, ee)
        mm, ee, partners = mm[ok], ee[ok], partners[ok]
        sc = score(index, mm, ee)
        units = sc.cost_units()
        for j, (u, partner, m, e) in enumerate(
            zip(units.tolist(), partners.tolist(), mm.tolist(), ee.tolist(), strict=True)
        ):
            options.append((-u, index.people[partner].id, as_role, m, e, sc, j))
    options.sort(key=lambda t: (t[0], t[1], t[2]))
    out: list[Suggestion] = []
    for _, partner_id, as_role, m, e, sc, j in options[:k]:
        bd = breakdown_of(sc.components[:, j], float(sc.total[j]), int(sc.overlap_minutes[j]))
        out.append(
            Suggestion(
                partner_id,
                as_role,  # type: ignore[arg-type]  # "mentor" or "mentee" from the loop above; mypy widens it to str
                bd.total,
                bd,
                explain_pair(index, m, e, bd),
            )
        )
    return out


def warm_up() -> None:
    """Run the whole engine once on two people, so the compiled pricing kernel is built (or
    loaded from numba's cache) before the first real run needs it. Services call it at start-up."""
    window = (AvailabilityWindow(0, "09:00", "17:00"),)
    people = [
        Participant("warm-up-mentor", "mentor", 1, "A", None, "R", frozenset({"en"}), "UTC", window),
        Participant("warm-up-mentee", "mentee", 2, "B", None, "R", frozenset({"en"}), "UTC", window),
    ]
    run_matching(people, MatchingPolicy())
