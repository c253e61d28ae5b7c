"""The hard rules of one given circle, checked outside the engine's search (pure): after HR's review
edits, when a freed place is refilled, and when a member leaves a circle.

The engine (domain/circles/) forms circles that keep these rules; the workflow (app/circles.py) has a
circle's members and must say whether they still keep them, and which of the free people would fill a
place best while keeping them. It asks the engine's own scalar checker
(`circles.constraints.circle_violations`, the oracle of the engine's property tests) and scores with
the engine's formulas (`circles.scoring`), so an edited or refilled circle is judged exactly as the
engine judges the circles it forms. The codes (`RULES`):

- size: within [min_size, max_size];
- juniors / seniors: at least `min_juniors` juniors (seniority <= junior_max_level) and `min_seniors`
  seniors (seniority >= senior_min_level): seniority levels, never age;
- language: one language every member speaks;
- slot: a stretch of at least `min_common_minutes` when every member is free, in every week of the
  programme, in their own time zones (each week with its own offsets);
- management: no member within `management_exclusion_depth` levels of another's management chain;
- blocked: no member blocked by another (either way);
- facilitator: a member who is facilitator-eligible, or whom HR named.

Capacity (a person in one live circle) is the caller's: the refill's candidates are the free people.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from bridge_matching.domain.circles.constraints import VIOLATION_CODES, Violation, circle_violations
from bridge_matching.domain.circles.model import CirclePolicy, CircleScore
from bridge_matching.domain.circles.scoring import mix_score, spread, weighted
from bridge_matching.domain.engine import AvailabilityWindow, Participant, ancestors
from bridge_matching.domain.engine.availability import WEEK_MINUTES, Interval, utc_intervals
from bridge_shared.contracts.circles import Generation

DAY = 24 * 60
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# The hard rules by code (a circle's `violations`: the engine's codes), for people to read.
RULES: dict[str, str] = {
    "size": "the number of members is outside the policy's bounds",
    "juniors": "too few junior members",
    "seniors": "too few senior members",
    "language": "no language every member speaks",
    "slot": "no common weekly slot long enough for every member",
    "management": "two members are too close in one management chain",
    "blocked": "a member blocked another",
    "facilitator": "no member can facilitate",
}
assert set(RULES) == set(VIOLATION_CODES)


def generation_of(level: int, policy: CirclePolicy) -> Generation:
    """junior, senior or other (counted for neither minimum), by seniority level under the policy."""
    return policy.generation(level)


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> tuple[Interval, ...]:
    """The common part of two sorted, merged interval lists (linear merge)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


_WHOLE_WEEK: tuple[Interval, ...] = ((0, WEEK_MINUTES),)


@lru_cache(maxsize=65536)
def _free(windows: tuple[AvailabilityWindow, ...], tz: str, week: date) -> tuple[Interval, ...]:
    return tuple(utc_intervals(windows, tz, week))


def weekly_common(people: Iterable[Participant], weeks: Sequence[date]) -> list[tuple[Interval, ...]]:
    """For each programme week, the UTC minutes of the week when every one of `people` is free (each
    week converted with its own offsets)."""
    people = list(people)
    out = []
    for week in weeks:
        common = _WHOLE_WEEK
        for p in people:
            common = _intersect(common, _free(p.availability, p.time_zone, week))
            if not common:
                break
        out.append(common)
    return out


def longest(intervals: Sequence[Interval]) -> tuple[int, int]:
    """(start minute of the UTC week, length) of the longest stretch, on the week's ring (Sunday night
    into Monday counts whole); (0, 0) when there is none."""
    if not intervals:
        return 0, 0
    spans = [(s, e - s) for s, e in intervals]
    first, last = intervals[0], intervals[-1]
    if len(intervals) > 1 and first[0] == 0 and last[1] == WEEK_MINUTES:
        spans = [(last[0], last[1] - last[0] + first[1] - first[0]), *spans[1:-1]]
    return max(spans, key=lambda x: (x[1], -x[0]))


def slot_of(by_week: Sequence[Sequence[Interval]], minimum: int) -> tuple[int, int, int] | None:
    """(UTC weekday, start minute, duration) of the slot to report, as the engine reports it
    (circles.slots.common_slot): the longest stretch free in every week when it is long enough (one
    UTC time all programme long), else the first week's longest; None when some week has no stretch
    of `minimum` minutes. The duration is at most a day, as the events carry it."""
    if not by_week or any(longest(week)[1] < max(minimum, 1) for week in by_week):
        return None
    always = by_week[0]
    for week in by_week[1:]:
        always = _intersect(always, week)
    start, length = longest(always)
    if length < max(minimum, 1):
        start, length = longest(by_week[0])
    return start // DAY, start % DAY, min(length, DAY)


def choose_facilitator(
    members: Sequence[Participant], eligible: Collection[str], current: str | None = None
) -> str | None:
    """The current facilitator if they are still a member and may facilitate (eligible or named by HR:
    the caller puts them in `eligible`), else the most senior eligible member (ties by id)."""
    ids = {p.id for p in members}
    if current is not None and current in ids and current in eligible:
        return current
    able = [p for p in members if p.id in eligible]
    return max(able, key=lambda p: (p.seniority, p.id)).id if able else None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a circle's spread is measured against: how many departments and regions the cohort's
    people have (the engine's `CircleCohort.n_departments` / `n_regions`)."""

    departments: int
    regions: int

    @classmethod
    def of(cls, people: Iterable[Participant]) -> Scope:
        people = list(people)
        return cls(len({p.department for p in people}), len({p.region for p in people}))


def score_of(members: Sequence[Participant], policy: CirclePolicy, scope: Scope) -> CircleScore:
    """The engine's objective for a given circle (circles.scoring): mix, two-way skill coverage (of
    every learning wish, the share another member teaches), department and region spread."""
    n = len(members)
    gens = [policy.generation(p.seniority) for p in members]
    mix = mix_score(gens.count("junior"), gens.count("senior"), n)
    wishes = covered = 0
    for p in members:
        taught = {s.casefold() for q in members if q is not p for s in q.skills_to_share}
        learn = {s.casefold() for s in p.skills_to_learn}
        wishes += len(learn)
        covered += len(learn & taught)
    skills = covered / wishes if wishes else 0.0
    departments = spread(len({p.department for p in members}), n, scope.departments)
    regions = spread(len({p.region for p in members}), n, scope.regions)
    return CircleScore(
        mix=round(mix, 6),
        skills=round(skills, 6),
        department_spread=round(departments, 6),
        region_spread=round(regions, 6),
        total=round(weighted(policy, mix, skills, departments, regions), 6),
    )


def breakdown_of(score: CircleScore) -> dict[str, float]:
    return {
        "mix": score.mix,
        "skills": score.skills,
        "department_spread": score.department_spread,
        "region_spread": score.region_spread,
        "total": score.total,
    }


@dataclass(frozen=True, slots=True)
class Assessment:
    """A given circle under the rules: what it breaks (the engine's violations; none when it keeps
    every rule), and what it would be: facilitator, language, weekly slot, score, and a summary that
    names no one."""

    violations: tuple[Violation, ...]
    facilitator_id: str | None
    language: str | None
    slot: tuple[int, int, int] | None
    score: CircleScore
    summary: str

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(v.code for v in self.violations))


def _summary(
    members: Sequence[Participant],
    policy: CirclePolicy,
    language: str | None,
    slot: tuple[int, int, int] | None,
    score: CircleScore,
) -> str:
    gens = [policy.generation(p.seniority) for p in members]
    parts = [f"{len(members)} members: {gens.count('junior')} junior, {gens.count('senior')} senior"]
    if gens.count("other"):
        parts[0] += f", {gens.count('other')} in between"
    parts.append(f"all speak {language}" if language else "no language all speak")
    if slot is not None:
        day, start, length = slot
        parts.append(f"all free {_WEEKDAYS[day]} {start // 60:02d}:{start % 60:02d} UTC for {length} minutes")
    else:
        parts.append(f"no weekly slot of {policy.min_common_minutes} minutes for everyone")
    parts.append(
        f"{len({p.department for p in members})} department(s), {len({p.region for p in members})} region(s)"
    )
    parts.append(f"{round(score.skills * 100)} % of what members want to learn is taught by another member")
    return "; ".join(parts)


def assess(
    members: Sequence[Participant],
    policy: CirclePolicy,
    *,
    eligible: Collection[str],
    manager_of: Mapping[str, str | None],
    scope: Scope,
    facilitator: str | None = None,
    named_by_hr: bool = False,
    language: str | None = None,
    weeks: Sequence[date] | None = None,
) -> Assessment:
    """Checks `members` against every hard rule with the engine's checker. `eligible`: who is
    facilitator-eligible; `facilitator` (kept when still a member who may facilitate, else the most
    senior eligible member) and `language` (kept while every member speaks it) are the circle's now;
    `named_by_hr`: HR named the facilitator, who then need not be eligible."""
    weeks = policy.programme_weeks() if weeks is None else weeks
    allowed = set(eligible) | ({facilitator} if named_by_hr and facilitator is not None else set())
    chosen = choose_facilitator(members, allowed, facilitator)
    violations = circle_violations(
        members,
        policy,
        facilitator_id=chosen,
        facilitator_eligible=frozenset(eligible),
        named_by_hr=named_by_hr and chosen == facilitator,
        manager_of=manager_of,
    )
    spoken = frozenset.intersection(*(p.languages for p in members)) if members else frozenset()
    chosen_language = language if language in spoken else (min(spoken) if spoken else None)
    slot = slot_of(weekly_common(members, weeks), policy.min_common_minutes)
    score = score_of(members, policy, scope)
    summary = _summary(members, policy, chosen_language, slot, score)
    return Assessment(tuple(violations), chosen, chosen_language, slot, score, summary)


def best_refill(
    members: Sequence[Participant],
    candidates: Iterable[Participant],
    policy: CirclePolicy,
    *,
    eligible: Collection[str],
    manager_of: Mapping[str, str | None],
    scope: Scope,
    facilitator: str | None = None,
    named_by_hr: bool = False,
    language: str | None = None,
) -> tuple[Participant, Assessment] | None:
    """The candidate with whom `members` keep every hard rule and score best (ties by id), with the
    circle as it would be; None when nobody fits. Cheap tests (blocks, language, the generation still
    missing, a facilitator, chains, the slot against the members' common time) come first; the
    engine's checker then confirms the best candidates, best first."""
    weeks = policy.programme_weeks()
    ids = {p.id for p in members}
    blocked = set().union(*(p.blocked_partner_ids for p in members)) if members else set()
    spoken = frozenset.intersection(*(p.languages for p in members)) if members else None
    gens = [policy.generation(p.seniority) for p in members]
    need = {
        g
        for g, low, have in (
            ("junior", policy.min_juniors, gens.count("junior")),
            ("senior", policy.min_seniors, gens.count("senior")),
        )
        if have < low
    }
    allowed = set(eligible) | ({facilitator} if named_by_hr and facilitator is not None else set())
    needs_facilitator = choose_facilitator(members, allowed, facilitator) is None
    depth = policy.management_exclusion_depth
    common = weekly_common(members, weeks)
    minimum = max(policy.min_common_minutes, 1)
    fitting: list[tuple[float, str, Participant]] = []
    for c in candidates:
        if c.id in ids or c.id in blocked or ids & c.blocked_partner_ids:
            continue
        if spoken is not None and not spoken & c.languages:
            continue
        if need and policy.generation(c.seniority) not in need:
            continue
        if needs_facilitator and c.id not in eligible:
            continue
        if depth > 0 and (
            ids & set(ancestors(c.id, manager_of, depth))
            or any(c.id in ancestors(p.id, manager_of, depth) for p in members)
        ):
            continue
        if any(
            longest(_intersect(week, _free(c.availability, c.time_zone, day)))[1] < minimum
            for week, day in zip(common, weeks, strict=True)
        ):
            continue
        fitting.append((score_of([*members, c], policy, scope).total, c.id, c))
    for _, _, c in sorted(fitting, key=lambda x: (-x[0], x[1])):
        a = assess(
            [*members, c],
            policy,
            eligible=eligible,
            manager_of=manager_of,
            scope=scope,
            facilitator=facilitator,
            named_by_hr=named_by_hr,
            language=language,
            weeks=weeks,
        )
        if a.ok:
            return c, a
    return None
