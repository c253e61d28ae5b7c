"""Circle formation (issue 15): partitions a cohort into mixed-generation circles; ``model.form_circles``
calls :func:`form`.

The run, in order:
1. Prepare (``prepare.py``): columns in id order, each person's meeting start slots in every distinct
   programme week (the pair engine's availability encoding), chains and blocks as conflict sets.
2. HR's pins: each becomes a circle as given (a named facilitator who is not among the pinned members
   joins it; an excluded person is left out of it); the engine adds members only where the pin needs
   them (too small, a generation or a facilitator missing) and only people who break no rule with it,
   and later the unplaced may join it like any circle with room. Whatever a pin still breaks is
   returned in ``hard_violations`` and said in the explanation.
3. Construction (``builder.py``), language by language, fewest speakers first: circles grown from
   facilitator-eligible seeds (hardest to place first), each step adding the member who raises the
   objective most among those that keep every hard rule, the policy's minimums first. Then the
   unplaced join circles with room, and a second round seeds circles among whoever is left.
4. Local improvement (``improve.py``): swaps and moves between neighbouring circles that keep every
   rule and raise the total, within a deterministic budget.
5. Output: facilitator, common language and weekly slot, score breakdown and explanation per circle
   (``explain.py``); a plain reason for everyone left out.

Deterministic for a seed (the seed breaks ties and orders the local search), whatever the input order.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from bridge_matching.domain.circles.builder import Builder, WorkCircle, open_circle
from bridge_matching.domain.circles.constraints import circle_violations
from bridge_matching.domain.circles.explain import (
    Reasons,
    excluded_reason,
    explain_circle,
    facilitator_choice,
)
from bridge_matching.domain.circles.improve import Improver
from bridge_matching.domain.circles.model import Circle, CirclePolicy, CircleResult, LeftOut, PinnedCircle
from bridge_matching.domain.circles.prepare import JUNIOR, SENIOR, CircleCohort, build_cohort
from bridge_matching.domain.circles.scoring import covered_wishes, parts, total_of
from bridge_matching.domain.circles.slots import WeeklySlot, common_slot
from bridge_matching.domain.engine.model import Participant

# Circle visits of the local search, per circle (deterministic, unlike a clock).
IMPROVE_VISITS_PER_CIRCLE = 0.6


@contextmanager
def _gc_paused() -> Iterator[None]:
    """As the pair engine: a run makes many small acyclic objects beside a large live population,
    so the cyclic collector's passes would only rescan it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_pins(pinned: Sequence[PinnedCircle], known: Mapping[str, Participant]) -> None:
    seen: set[str] = set()
    for pin in pinned:
        ids = {*pin.member_ids, *([pin.facilitator_id] if pin.facilitator_id else [])}
        unknown = sorted(ids - known.keys())
        if unknown:
            raise ValueError(f"a pinned circle names unknown participants: {', '.join(unknown)}")
        twice = sorted(ids & seen)
        if twice:
            raise ValueError(f"participants pinned to two circles: {', '.join(twice)}")
        seen |= ids


def _pin_language(cohort: CircleCohort, members: Sequence[int], builder: Builder) -> str:
    """A language every member speaks, the one with most unplaced speakers (more to add from); with
    none in common, the one most members speak (the pin then breaks the language rule)."""
    langs = [
        lang for i, lang in enumerate(cohort.languages) if all(cohort.lang_mask[m] >> i & 1 for m in members)
    ]
    if langs:
        return max(langs, key=lambda lang: (int((~builder.placed[cohort.speakers[lang]]).sum()), lang))
    counts: dict[str, int] = {}
    for m in members:
        for lang in cohort.people[m].languages:
            counts[lang] = counts.get(lang, 0) + 1
    return max(sorted(counts), key=lambda lang: counts[lang]) if counts else ""


def _open_pins(
    cohort: CircleCohort, builder: Builder, pinned: Sequence[PinnedCircle], excluded: frozenset[str]
) -> None:
    policy = cohort.policy
    for pin in pinned:
        ids = list(dict.fromkeys([*pin.member_ids, *([pin.facilitator_id] if pin.facilitator_id else [])]))
        dropped = tuple(i for i in ids if i in excluded)
        members = [cohort.pos[i] for i in ids if i not in excluded]
        if not members:
            continue
        members.sort()
        circle = open_circle(cohort, members, _pin_language(cohort, members, builder))
        circle.pin = pin
        circle.pinned = frozenset(members)
        circle.dropped = dropped
        if pin.facilitator_id is not None and pin.facilitator_id not in excluded:
            circle.named_facilitator = cohort.pos[pin.facilitator_id]
        builder.placed[members] = True
        builder.circles.append(circle)
        if circle.lang and cohort.feasible_starts(circle.start_int) and not builder.complete(circle):
            # A pin that clashes inside (chains, blocks) gets no more people to clash with.
            clean = not any(cohort.forbidden[m] & circle.pinned for m in members)
            juniors = sum(1 for m in members if cohort.gen_of[m] == JUNIOR)
            seniors = sum(1 for m in members if cohort.gen_of[m] == SENIOR)
            facilitator = circle.named_facilitator is not None or any(cohort.eligible_of[m] for m in members)
            missing = (
                max(0, policy.min_juniors - juniors)
                + max(0, policy.min_seniors - seniors)
                + (not facilitator)
            )
            target = min(policy.max_size, max(policy.min_size, len(members) + missing))
            if clean and len(members) < target:
                builder.grow(circle, target)


def _slot_of(cohort: CircleCohort, members: Sequence[int]) -> WeeklySlot | None:
    common = np.bitwise_and.reduce(cohort.free[list(members)], axis=0)  # (weeks, words)
    weeks = [int.from_bytes(row.tobytes(), "little") for row in common]
    return common_slot(weeks, cohort.n_slots, cohort.slot_minutes, cohort.policy.min_common_minutes)


def _finish(
    cohort: CircleCohort,
    circle: WorkCircle,
    facilitator_eligible: frozenset[str],
    manager_of: Mapping[str, str | None],
) -> Circle:
    members = sorted(circle.members)
    facilitator, why = facilitator_choice(cohort, members, circle.named_facilitator)
    slot = _slot_of(cohort, members)
    score = parts(cohort, members)
    violations = []
    if circle.pin is not None:
        violations = circle_violations(
            [cohort.people[m] for m in members],
            cohort.policy,
            facilitator_id=cohort.people[facilitator].id,
            facilitator_eligible=facilitator_eligible,
            named_by_hr=circle.named_facilitator is not None,
            manager_of=manager_of,
        )
    explanation = explain_circle(
        cohort,
        members,
        facilitator=facilitator,
        facilitator_reason=why,
        language=circle.language,
        slot=slot,
        parts=score,
        violations=violations,
        pinned=circle.pin is not None,
    )
    if circle.dropped:
        explanation = (
            explanation + f" HR's pin also named {len(circle.dropped)} excluded participant(s), left out."
        )[:4000]
    return Circle(
        member_ids=tuple(cohort.people[m].id for m in members),
        facilitator_id=cohort.people[facilitator].id,
        language=circle.language,
        weekly_slot=slot.as_tuple() if slot is not None else (0, 0, 0),
        score=score.as_score(),
        explanation=explanation,
        hard_violations=tuple(dict.fromkeys(v.code for v in violations)),
        pinned=circle.pin is not None,
    )


def form(
    people: Sequence[Participant],
    policy: CirclePolicy,
    *,
    facilitator_eligible: frozenset[str],
    manager_of: Mapping[str, str | None],
    pinned: Sequence[PinnedCircle] = (),
    excluded: frozenset[str] = frozenset(),
    seed: int = 0,
) -> CircleResult:
    with _gc_paused():
        return _form(people, policy, facilitator_eligible, manager_of, pinned, excluded, seed)


def _form(
    people: Sequence[Participant],
    policy: CirclePolicy,
    facilitator_eligible: frozenset[str],
    manager_of: Mapping[str, str | None],
    pinned: Sequence[PinnedCircle],
    excluded: frozenset[str],
    seed: int,
) -> CircleResult:
    t0 = time.perf_counter()
    c0 = time.process_time()
    known: dict[str, Participant] = {}
    for p in people:
        if p.id in known:
            raise ValueError(f"participant {p.id} appears twice")
        known[p.id] = p
    _check_pins(pinned, known)
    pinned_ids = {i for pin in pinned for i in (*pin.member_ids, pin.facilitator_id) if i}
    out_ids = sorted(excluded & known.keys())
    left_out: list[LeftOut] = [excluded_reason(i, known[i].name, i in pinned_ids) for i in out_ids]
    active = [p for p in people if p.id not in excluded]
    chart: dict[str, str | None] = dict(manager_of)
    for p in people:
        chart.setdefault(p.id, p.manager_id)
    stats: dict[str, float] = {"participants": float(len(people)), "excluded": float(len(out_ids))}
    if not active:
        stats.update(placed=0.0, left_out=float(len(left_out)), circles=0.0)
        return CircleResult((), tuple(left_out), stats)

    cohort = build_cohort(active, policy, facilitator_eligible=facilitator_eligible, manager_of=chart)
    rng = np.random.default_rng(seed)
    builder = Builder(cohort, rng)
    t1 = time.perf_counter()
    c1 = time.process_time()

    _open_pins(cohort, builder, pinned, excluded)
    order = sorted(cohort.languages, key=lambda lang: (int(cohort.speakers[lang].size), lang))
    builder.run_round(order, stop_when_done=True)
    inserted = builder.insert_leftovers()
    builder.failed[:] = False
    builder.run_round(order, stop_when_done=False)
    inserted += builder.insert_leftovers()
    t2 = time.perf_counter()
    c2 = time.process_time()

    constructed = sum(total_of(cohort, c.members) for c in builder.circles)
    outcome = Improver(cohort, builder.circles, rng).run(
        round(IMPROVE_VISITS_PER_CIRCLE * len(builder.circles))
    )
    t3 = time.perf_counter()
    c3 = time.process_time()

    circles = [_finish(cohort, c, facilitator_eligible, chart) for c in builder.circles]
    order_key = {
        id(c): (c.pin is None, i if c.pin is not None else 0, min(c.members))
        for i, c in enumerate(builder.circles)
    }
    ranked = sorted(zip(builder.circles, circles, strict=True), key=lambda pair: order_key[id(pair[0])])
    circles = [c for _, c in ranked]
    reasons = Reasons(cohort, builder.placed)
    left_out.extend(reasons.explain(p) for p in np.flatnonzero(~builder.placed).tolist())
    left_out.sort(key=lambda x: x.participant_id)
    t4 = time.perf_counter()
    c4 = time.process_time()

    placed = int(builder.placed.sum())
    covered = wishes = 0
    for c in builder.circles:
        cov, wis = covered_wishes(cohort, c.members)
        covered, wishes = covered + cov, wishes + wis
    count = max(len(circles), 1)
    stats.update(
        placed=float(placed),
        left_out=float(len(left_out)),
        circles=float(len(circles)),
        pinned_circles=float(sum(1 for c in circles if c.pinned)),
        placed_share=placed / len(people),
        total_score=round(sum(c.score.total for c in circles), 6),
        mean_mix=round(sum(c.score.mix for c in circles) / count, 6),
        mean_skills=round(sum(c.score.skills for c in circles) / count, 6),
        mean_department_spread=round(sum(c.score.department_spread for c in circles) / count, 6),
        mean_region_spread=round(sum(c.score.region_spread for c in circles) / count, 6),
        skill_coverage=round(covered / wishes, 6) if wishes else 0.0,
        cross_generation_pairs=float(
            sum(
                sum(1 for m in c.members if cohort.gen_of[m] == JUNIOR)
                * sum(1 for m in c.members if cohort.gen_of[m] == SENIOR)
                for c in builder.circles
            )
        ),
        constructed_score=round(constructed, 6),
        inserted=float(inserted),
        seeds_tried=float(builder.attempts),
        seeds_undone=float(builder.undone),
        local_moves=float(outcome.moves),
        local_examined=float(outcome.examined),
        local_gain=round(outcome.gain, 6),
        distinct_weeks=float(len(cohort.weeks)),
        slot_minutes=float(cohort.slot_minutes),
        prepare_s=t1 - t0,
        construct_s=t2 - t1,
        improve_s=t3 - t2,
        explain_s=t4 - t3,
        total_s=t4 - t0,
        cpu_s=c4 - c0,
        prepare_cpu_s=c1 - c0,
        construct_cpu_s=c2 - c1,
        improve_cpu_s=c3 - c2,
        explain_cpu_s=c4 - c3,
    )
    return CircleResult(tuple(circles), tuple(left_out), stats)
