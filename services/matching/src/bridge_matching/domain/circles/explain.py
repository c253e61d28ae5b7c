"""Explanations HR can read: why a circle looks as it does, and a plain reason for everyone left out.

Words follow the pair engine's (``engine.explain.Wording``): languages named in the reader's locale,
skills spelt as in the cohort's taxonomy (set with ``engine.explain.explaining``) or as the teacher
wrote them. A circle's explanation fits the events' 4,000 characters: the list of who teaches what is
cut short ("... and 12 more") when it would not.

Left-out reason codes (stable, part of the API and events): "excluded", "availability" (no stretch of
the policy's minutes free in every week, alone or with enough others), "language", "management",
"blocked", "juniors", "seniors", "facilitator", "not_selected" (enough compatible people exist, but
the circles they could join are full or clash with them, and the rest were too few to form one).
Each reason's numbers are counted pairwise from the data the engine formed circles from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from bridge_matching.domain.circles.constraints import Violation
from bridge_matching.domain.circles.model import LeftOut
from bridge_matching.domain.circles.prepare import JUNIOR, OTHER, SENIOR, CircleCohort
from bridge_matching.domain.circles.scoring import Parts
from bridge_matching.domain.circles.slots import WeeklySlot
from bridge_matching.domain.engine.explain import Wording

BoolA = npt.NDArray[np.bool_]

MAX_EXPLANATION = 4000
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GENERATION_WORDS = {JUNIOR: "junior", SENIOR: "senior", OTHER: "in between"}


def _join(items: Sequence[str], conjunction: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def describe_slot(slot: WeeklySlot, zones: Sequence[str], first_week: datetime) -> str:
    """ "Tuesday 14:00-16:00 UTC (15:00 in Europe/Berlin, 09:00 in America/New_York)": local start
    times in the programme's first week."""
    day, start = divmod(slot.start_minute, 24 * 60)
    end = (start + slot.duration_minutes) % (24 * 60)
    at = first_week + timedelta(minutes=slot.start_minute)
    local = []
    for zone in sorted(set(zones)):
        if zone in ("UTC", "Etc/UTC"):
            continue
        there = at.astimezone(ZoneInfo(zone))
        weekday = "" if there.weekday() == day else f"{DAYS[there.weekday()]} "
        local.append(f"{weekday}{there:%H:%M} in {zone}")
    where = f" ({', '.join(local)})" if local else ""
    return f"{DAYS[day]} {_clock(start)}-{_clock(end)} UTC{where}"


def _written(cohort: CircleCohort, person: int) -> dict[str, str]:
    """Casefolded skill -> as this person wrote it (the first in sorted order)."""
    out: dict[str, str] = {}
    for written in sorted(cohort.people[person].skills_to_share):
        out.setdefault(written.casefold(), written)
    return out


def _teaching(
    cohort: CircleCohort, members: Sequence[int], wording: Wording
) -> tuple[list[str], dict[str, int]]:
    """One phrase per teacher ("Ana teaches Raj 'SQL', Li 'TikTok'"), and how many (teacher, learner,
    skill) exchanges flow junior->senior, senior->junior and otherwise."""
    phrases: list[str] = []
    flows = {"junior_to_senior": 0, "senior_to_junior": 0, "other": 0}
    for t in members:
        spelt = _written(cohort, t)
        parts: list[str] = []
        for learner in members:
            if learner == t:
                continue
            common = cohort.share[t] & cohort.learn[learner]
            if not common:
                continue
            gt, gl = cohort.gen_of[t], cohort.gen_of[learner]
            key = (
                "junior_to_senior"
                if (gt, gl) == (JUNIOR, SENIOR)
                else "senior_to_junior"
                if (gt, gl) == (SENIOR, JUNIOR)
                else "other"
            )
            flows[key] += common.bit_count()
            names = []
            while common:
                low = common & -common
                skill = cohort.skills[low.bit_length() - 1]
                names.append(wording.skill(spelt.get(skill, skill)))
                common ^= low
            quoted = _join([f"'{s}'" for s in sorted(names, key=str.casefold)])
            parts.append(f"{cohort.people[learner].name} {quoted}")
        if parts:
            phrases.append(f"{cohort.people[t].name} teaches {', '.join(parts)}")
    return phrases, flows


def explain_circle(
    cohort: CircleCohort,
    members: Sequence[int],
    *,
    facilitator: int,
    facilitator_reason: str,
    language: str,
    slot: WeeklySlot | None,
    parts: Parts,
    violations: Sequence[Violation] = (),
    pinned: bool = False,
    wording: Wording | None = None,
) -> str:
    w = wording or Wording.of()
    people = cohort.people
    by_gen: dict[int, list[str]] = {JUNIOR: [], SENIOR: [], OTHER: []}
    for m in members:
        by_gen[cohort.gen_of[m]].append(people[m].name)
    groups = []
    for g, noun in ((JUNIOR, "junior"), (SENIOR, "senior")):
        if by_gen[g]:
            groups.append(f"{_plural(len(by_gen[g]), noun)} ({', '.join(by_gen[g])})")
    if by_gen[OTHER]:
        groups.append(f"{len(by_gen[OTHER]):,} in between ({', '.join(by_gen[OTHER])})")
    cross = parts.juniors * parts.seniors
    head = (
        f"{_plural(len(members), 'member')}: {_join(groups)}; "
        f"{_plural(cross, 'cross-generation pair')} (mix {parts.mix:.2f})."
    )
    lead = f"Facilitator: {people[facilitator].name}, {facilitator_reason}."
    common = set.intersection(*(set(people[m].languages) for m in members)) if members else set()
    others = sorted(common - {language})
    also = f" (all also speak {w.languages(others)})" if others else ""
    speech = f"Language: everyone speaks {w.language(language)}{also}."
    if language not in common:  # a pin HR made regardless
        speakers = sum(1 for m in members if language in people[m].languages)
        named = w.language(language) if language else "no language"
        speech = (
            f"Language: none that every member speaks; {named} is spoken by {speakers} of {len(members)}."
        )
    if slot is None:
        when = "Weekly slot: none that every member shares."
    else:
        first = datetime.combine(cohort.weeks[0], time(0, 0), tzinfo=UTC)
        said = describe_slot(slot, [people[m].time_zone for m in members], first)
        if slot.every_week:
            when = f"Weekly slot: {said}, when all are free in every week of the programme."
        else:
            when = (
                f"Weekly slot: {said} in the first week; daylight-saving changes move it in UTC, but "
                f"every week of the programme has at least {cohort.policy.min_common_minutes} minutes "
                "when all are free."
            )
    phrases, flows = _teaching(cohort, members, w)
    both_ways = flows["junior_to_senior"] and flows["senior_to_junior"]
    flow = (
        f"{'Learning flows both ways' if both_ways else 'Learning'}: juniors teach seniors "
        f"{_plural(flows['junior_to_senior'], 'skill')}, "
        f"seniors teach juniors {flows['senior_to_junior']:,}, {_plural(flows['other'], 'other exchange')}; "
        f"{parts.covered:,} of {_plural(parts.wishes, 'learning wish', 'learning wishes')} covered."
    )
    depts = sorted({people[m].department for m in members})
    regions = sorted({people[m].region for m in members})
    spread = (
        f"Spread: {_plural(len(depts), 'department')} ({', '.join(depts)}) and "
        f"{_plural(len(regions), 'region')} ({', '.join(regions)})."
    )
    tail: list[str] = []
    if pinned:
        tail.append("Pinned by HR.")
    if violations:
        tail.append("HR's pin breaks the rules: " + "; ".join(v.detail for v in violations) + ".")
    fixed = [head, lead, speech, when, flow, spread, *tail]
    room = MAX_EXPLANATION - sum(len(s) + 1 for s in fixed) - len("Skills: .") - 40
    if not phrases:
        skills = "Skills: no member shares a skill another wants to learn."
    else:
        kept: list[str] = []
        used = 0
        for phrase in phrases:
            if used + len(phrase) + 2 > room:
                break
            kept.append(phrase)
            used += len(phrase) + 2
        rest = len(phrases) - len(kept)
        more = f"; and {rest:,} more teacher(s)" if rest else ""
        skills = f"Skills: {'; '.join(kept)}{more}."
    text = " ".join([head, lead, speech, when, skills, flow, spread, *tail])
    return text[:MAX_EXPLANATION]


def facilitator_choice(cohort: CircleCohort, members: Sequence[int], named: int | None) -> tuple[int, str]:
    """Who facilitates and why: HR's choice; else the eligible member who is senior (by generation,
    then level), ties by id; without any eligible member the most senior member (a pin only)."""
    if named is not None:
        return named, "named by HR"
    eligible = [m for m in members if cohort.eligible_of[m]]
    if not eligible:
        top = max(members, key=lambda m: (int(cohort.level[m]), -m))
        return top, "the most senior member; no member is facilitator-eligible"
    best = max(eligible, key=lambda m: (cohort.gen_of[m] == SENIOR, int(cohort.level[m]), -m))
    who = f"{GENERATION_WORDS[cohort.gen_of[best]]}, level {int(cohort.level[best])}"
    if len(eligible) == 1:
        why = f"the only facilitator-eligible member ({who})"
    else:
        why = f"facilitator-eligible and the most senior of the {len(eligible)} eligible members ({who})"
    return best, why


# -- left out ---------------------------------------------------------------------------------------


class Reasons:
    """Why someone is in no circle, in plain words with the numbers (checks in a fixed order)."""

    def __init__(self, cohort: CircleCohort, placed: BoolA, wording: Wording | None = None) -> None:
        self.c = cohort
        self.placed = placed
        self.w = wording or Wording.of()

    def explain(self, p: int) -> LeftOut:
        c, policy = self.c, self.c.policy
        person = c.people[p]
        name = person.name
        need = policy.min_size - 1
        minutes = policy.min_common_minutes
        missing = c.bad_weeks(c.start_int[p])
        if missing:
            text = f"{name} is never free for {minutes} minutes in a row"
            if len(missing) < len(c.weeks):
                week = c.weeks[missing[0]]
                text += f" in the week of {week.isoformat()} (daylight-saving time changes then)"
            text += f"; a circle meets for at least {minutes} minutes in every week of the programme"
            return LeftOut(person.id, "availability", text)
        if not person.languages:
            return LeftOut(person.id, "language", f"{name} has listed no language")
        langs = self.w.languages(person.languages, "or")
        best = max(int(c.speakers[lang].size) - 1 for lang in person.languages)
        if best < need:
            others = (
                "no other participant speaks"
                if best == 0
                else f"only {_plural(best, 'other participant')} {'speaks' if best == 1 else 'speak'}"
            )
            return LeftOut(
                person.id,
                "language",
                f"{others} {langs}; a circle needs {policy.min_size} members who share one language",
            )
        speak = np.bitwise_or.reduce(np.stack([c.lang_people[lang] for lang in person.languages]), axis=0)
        speakers = int(np.bitwise_count(speak).sum()) - 1
        mates_mask = c.unpacked(c.slot_mates(p) & speak)
        mates_mask[p] = False
        mates = int(mates_mask.sum())
        if mates < need:
            some = f"none of the {speakers:,} is" if mates == 0 else f"only {mates:,} of the {speakers:,} are"
            return LeftOut(
                person.id,
                "availability",
                f"{speakers:,} other people speak {langs}, but {some} free for the same {minutes} minutes "
                f"as {name} in every week of the programme; a circle needs {policy.min_size} members "
                "with a common weekly slot",
            )
        outside_mask = mates_mask.copy()
        outside_mask[list(c.chain_conflicts[p])] = False
        outside = int(outside_mask.sum())
        levels = _plural(policy.management_exclusion_depth, "level")
        if outside < need:
            return LeftOut(
                person.id,
                "management",
                f"{_plural(mates, 'person shares', 'people share')} a language and a weekly slot with "
                f"{name}, but {mates - outside:,} of them {'is' if mates - outside == 1 else 'are'} in "
                f"{name}'s reporting line (within {levels}); the {outside:,} left are too few for a circle",
            )
        pool_mask = outside_mask.copy()
        pool_mask[c.forbidden_arr[p]] = False
        pool = np.flatnonzero(pool_mask)
        if pool.size < need:
            blocked = outside - int(pool.size)
            return LeftOut(
                person.id,
                "blocked",
                f"{_plural(outside, 'person', 'people')} could share a circle with {name}, but {name} "
                f"blocked or was blocked by {blocked:,} of them; the {pool.size:,} left are too few "
                "for a circle",
            )
        g = c.gen[pool]
        juniors = int((g == JUNIOR).sum()) + int(c.gen_of[p] == JUNIOR)
        seniors = int((g == SENIOR).sum()) + int(c.gen_of[p] == SENIOR)
        compatible = (
            f"{_plural(int(pool.size), 'person', 'people')} outside {name}'s reporting line share a language "
            f"and a weekly slot with {name}"
        )
        for code, count, least, rule in (
            ("juniors", juniors, policy.min_juniors, f"level {policy.junior_max_level} or below"),
            ("seniors", seniors, policy.min_seniors, f"level {policy.senior_min_level} or above"),
        ):
            if count < least:
                noun = code[:-1]
                are = "none is a" if count == 0 else f"only {count:,} {'is a' if count == 1 else 'are'}"
                return LeftOut(
                    person.id,
                    code,
                    f"{compatible}; counting {name}, {are} {noun}{'s' if count > 1 else ''} ({rule}), "
                    f"and a circle needs {least}",
                )
        facilitators = int(c.eligible[pool].sum()) + int(c.eligible_of[p])
        if facilitators == 0:
            return LeftOut(
                person.id,
                "facilitator",
                f"{compatible}; none of them, nor {name}, can facilitate a circle",
            )
        free = pool[~self.placed[pool]]
        fg = c.gen[free]
        taken = int(pool.size - free.size)
        if free.size == 0:
            rest = "and nobody compatible is left to start another circle"
        else:
            rest = (
                f"and the {free.size:,} still unplaced ({int((fg == JUNIOR).sum()):,} juniors, "
                f"{int((fg == SENIOR).sum()):,} seniors, {int(c.eligible[free].sum()):,} who can facilitate) "
                f"lack a common slot, language or the generations to form another circle with {name}"
            )
        placed = "all of them are" if free.size == 0 else f"{taken:,} of them are"
        return LeftOut(
            person.id,
            "not_selected",
            f"{compatible}; {placed} in circles that are full or would clash with {name}, {rest}",
        )


def excluded_reason(participant_id: str, name: str, pinned: bool) -> LeftOut:
    text = f"{name} is excluded from circle formation in this run"
    if pinned:
        text += "; HR's pin named them, so their pinned circle was formed without them"
    return LeftOut(participant_id, "excluded", text)
