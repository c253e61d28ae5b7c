"""Explanations HR can read: who mentors whom on what for a pair, and plain reasons for the unmatched.

Words are for the reader: languages are named in the reader's locale (Babel's CLDR names; English,
then the code itself, when a name is unknown), skills are spelt as in the cohort's taxonomy (matched
case-insensitively) or else as the participant wrote them. Unmatched reasons carry the numbers
behind them, counted from the same data the engine matched on; their ``reason_code`` values are
part of the API and events and do not change.

The reader's locale and the taxonomy are given to :func:`explain_pair` and :class:`ReasonFinder`
directly, or for a whole engine call (``run_matching``, ``suggest``) with :func:`explaining`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from babel import Locale, UnknownLocaleError

from .index import PopulationIndex
from .model import Participant, ScoreBreakdown, UnmatchedParticipant
from .scoring import CHECK_ORDER, check

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]
Side = Literal["mentor", "mentee"]

DEFAULT_LOCALE = "en"
_CHUNK = 2048
_BASIC = ("role", "language", "region", "seniority")  # cheap checks that need only a person's own data


# -- the reader's words ---------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _language_names(locale: str) -> Mapping[str, str]:
    """CLDR language names in ``locale`` ("de", "pt-BR", "pt_BR"); {} if Babel does not know it."""
    try:
        return Locale.parse(locale.replace("-", "_")).languages
    except (UnknownLocaleError, ValueError, TypeError):
        return {}


@lru_cache(maxsize=4096)
def language_name(code: str, locale: str = DEFAULT_LOCALE) -> str:
    """``code`` ("es", "pt-BR") named in ``locale``; else in English; else the code as given."""
    full = code.strip().replace("-", "_")
    primary = full.split("_", 1)[0].lower()
    for names in (_language_names(locale), _language_names(DEFAULT_LOCALE)):
        for key in (full, primary):
            if key in names:
                return names[key]
    return code


@dataclass(frozen=True, slots=True)
class Wording:
    """How one reader wants things named: their locale, and the cohort's skill taxonomy."""

    locale: str = DEFAULT_LOCALE
    taxonomy: Mapping[str, str] = field(default_factory=dict)  # casefolded name -> as written

    @classmethod
    def of(cls, locale: str | None = None, taxonomy: Iterable[str] | None = None) -> Wording:
        """``None`` takes the value set by :func:`explaining` (else English, no taxonomy)."""
        ambient = _WORDING.get() or _ENGLISH
        tax = ambient.taxonomy if taxonomy is None else _taxonomy_map(taxonomy)
        return cls(ambient.locale if locale is None else locale, tax)

    def language(self, code: str) -> str:
        return language_name(code, self.locale)

    def languages(self, codes: Iterable[str], conjunction: str = "and") -> str:
        return _join(sorted({self.language(c) for c in codes}, key=str.casefold), conjunction)

    def skill(self, written: str) -> str:
        return self.taxonomy.get(written.casefold(), written)


def _taxonomy_map(taxonomy: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in taxonomy:
        out.setdefault(name.casefold(), name)  # the first spelling wins if the taxonomy repeats one
    return out


_ENGLISH = Wording()
_WORDING: ContextVar[Wording | None] = ContextVar("bridge_matching_wording", default=None)


@contextmanager
def explaining(locale: str = DEFAULT_LOCALE, taxonomy: Iterable[str] = ()) -> Iterator[None]:
    """Within this block, explanations the engine writes use this reader's locale and taxonomy.

    A context variable, so it holds for the engine call made inside the block on this thread (or
    in a task/thread that copies the context), not for other callers meanwhile.
    """
    token = _WORDING.set(Wording(locale, _taxonomy_map(taxonomy)))
    try:
        yield
    finally:
        _WORDING.reset(token)


def _join(items: list[str], conjunction: str = "and") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def _quote_list(items: list[str]) -> str:
    return _join([f"'{s}'" for s in items])


def _hours(minutes: float) -> str:
    return f"{round(minutes / 60.0, 2):g} h"


# -- pairs ----------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _folded(skills: frozenset[str]) -> Mapping[str, str]:
    """Casefolded name -> the spelling written (the first in sorted order, so every run agrees)."""
    out: dict[str, str] = {}
    for written in sorted(skills):
        out.setdefault(written.casefold(), written)
    return out


def _shared_skills(giver: Participant, taker: Participant, wording: Wording) -> list[str]:
    """Skills ``giver`` shares that ``taker`` wants, case-insensitively, in the reader's spelling."""
    gives = _folded(giver.skills_to_share)
    common = gives.keys() & _folded(taker.skills_to_learn).keys()
    return [wording.skill(gives[k]) for k in sorted(common)]


def _short_names(mentor: Participant, mentee: Participant) -> tuple[str, str]:
    """First names for a second mention ("Raj teaches Ana back"), unless that would be ambiguous."""
    a, b = (mentor.display_name or "").split(), (mentee.display_name or "").split()
    if a and b and a[0].casefold() != b[0].casefold():
        return a[0], b[0]
    return mentor.name, mentee.name


_MEETING_WORDS = {"in_person": "in person", "video": "by video"}


def _meeting_phrase(mentor: Participant, mentee: Participant, m_short: str, e_short: str) -> str | None:
    """How the two would rather meet, when at least one of them says (None when neither minds)."""
    a, b = mentor.meeting_preference, mentee.meeting_preference
    if a == "either" and b == "either":
        return None
    if a == b:
        return f"both prefer to meet {_MEETING_WORDS[a]}"
    if b == "either":
        return f"{m_short} prefers to meet {_MEETING_WORDS[a]}, {e_short} does not mind"
    if a == "either":
        return f"{e_short} prefers to meet {_MEETING_WORDS[b]}, {m_short} does not mind"
    return f"different meeting preferences ({m_short} {_MEETING_WORDS[a]} / {e_short} {_MEETING_WORDS[b]})"


def describe_pair(
    mentor: Participant, mentee: Participant, overlap_minutes: float, wording: Wording | None = None
) -> str:
    """Who mentors whom on what, what flows back, languages, time together, departments, how they would
    rather meet (when one of them says), requests."""
    w = wording or Wording.of()
    m_short, e_short = _short_names(mentor, mentee)
    parts: list[str] = []
    teach = _shared_skills(mentor, mentee, w)
    if teach:
        parts.append(f"{mentor.name} (mentor) teaches {mentee.name} {_quote_list(teach)}")
    else:
        lead = f"{mentor.name} (mentor) mentors {mentee.name}"
        if mentee.skills_to_learn:
            lead += f"; {m_short} shares none of the skills {e_short} wants to learn"
        parts.append(lead)
    back = _shared_skills(mentee, mentor, w)
    if back:
        parts.append(f"{e_short} teaches {m_short} back {_quote_list(back)}")
    elif mentor.skills_to_learn:
        parts.append(f"{e_short} shares none of the skills {m_short} wants to learn")
    common = mentor.languages & mentee.languages
    parts.append(f"both speak {w.languages(common)}" if common else "no language in common")
    parts.append(f"{_hours(overlap_minutes)} a week together")
    if mentor.department != mentee.department:
        parts.append(f"different departments ({mentor.department} / {mentee.department})")
    else:
        parts.append(f"same department ({mentor.department})")
    meeting = _meeting_phrase(mentor, mentee, m_short, e_short)
    if meeting is not None:
        parts.append(meeting)
    if mentee.id in mentor.requested_partner_ids and mentor.id in mentee.requested_partner_ids:
        parts.append("requested each other")
    elif mentee.id in mentor.requested_partner_ids:
        parts.append(f"requested by {m_short}")
    elif mentor.id in mentee.requested_partner_ids:
        parts.append(f"requested by {e_short}")
    return "; ".join(parts)


def explain_pair(
    index: PopulationIndex,
    m: int,
    e: int,
    breakdown: ScoreBreakdown,
    *,
    locale: str | None = None,
    taxonomy: Iterable[str] | None = None,
) -> str:
    """:func:`describe_pair` for positions ``m`` (mentor) and ``e`` (mentee) of ``index``.

    ``locale``/``taxonomy`` default to the values set by :func:`explaining`, else English and none.
    """
    minutes = breakdown.overlap_hours * 60.0
    return describe_pair(index.people[m], index.people[e], minutes, Wording.of(locale, taxonomy))


def breakdown_of(components: npt.NDArray[np.float64], total: float, overlap_minutes: int) -> ScoreBreakdown:
    return breakdown_from_values(components.tolist(), total, overlap_minutes)


def breakdown_from_values(c: list[float], total: float, overlap_minutes: int) -> ScoreBreakdown:
    """:func:`breakdown_of` from plain Python values (bulk ``tolist`` by the caller)."""
    return ScoreBreakdown(
        skills_mentor_to_mentee=round(c[0], 6),
        skills_mentee_to_mentor=round(c[1], 6),
        availability=round(c[2], 6),
        cross_department=round(c[3], 6),
        requested_partner=round(c[4], 6),
        meeting_preference=round(c[5], 6),
        total=round(total, 6),
        overlap_hours=round(overlap_minutes / 60.0, 2),
    )


# -- unmatched ------------------------------------------------------------------------------------


def _count(n: int, noun: str) -> str:
    """ "1 mentor", "3 mentors"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _verb(n: int, singular: str, plural: str) -> str:
    return singular if n == 1 else plural


_PLURAL_VERB = {"already has": "already have", "is": "are"}


def _group(n: int) -> str:
    """How to refer to all of ``n`` people just counted: "they", "both", "all 12"."""
    return "they" if n == 1 else "both" if n == 2 else f"all {n:,}"


class ReasonFinder:
    """Finds *why* a participant is unmatched, and says it in plain words with the numbers.

    Codes (stable, part of the API): "zero_capacity", "not_selected" (a compatible partner with
    free places exists), "capacity" (compatible partners exist, all taken), else the first hard
    constraint, in CHECK_ORDER, that rules out every remaining candidate.
    The code is found looking only at what is needed; the counts in the text are exact.
    """

    def __init__(
        self,
        index: PopulationIndex,
        spare_mentor: I64,
        spare_mentee: I64,
        has_mentor_edge: npt.NDArray[np.bool_],
        has_mentee_edge: npt.NDArray[np.bool_],
        *,
        locale: str | None = None,
        taxonomy: Iterable[str] | None = None,
        binding_quotas: tuple[str, ...] = (),
    ) -> None:
        self.index = index
        self.binding_quotas = binding_quotas  # the policy's quotas the pairing sits at, in words
        self.wording = Wording.of(locale, taxonomy)
        # Known feasible pairs (the LP's columns, the pricing pool): having one proves a
        # compatible partner exists without scanning the population again.
        self.has_edge = {"mentor": has_mentor_edge, "mentee": has_mentee_edge}
        self.spare = {"mentor": spare_mentor, "mentee": spare_mentee}
        self.universe = {
            "mentor": np.flatnonzero(index.can_mentor),
            "mentee": np.flatnonzero(index.can_mentee),
        }
        self.spare_pool = {
            side: self.universe[side][self.spare[side][self.universe[side]] > 0]
            for side in ("mentor", "mentee")
        }
        self._everyone_cache: dict[Side, str] = {}
        self._basic_cache: dict[tuple[Side, bytes, int, int], tuple[int, str] | None] = {}

    # -- which code ---------------------------------------------------------------------------

    def _orient(self, p: int, others: Idx, seeking: Side) -> tuple[Idx, Idx]:
        mine = np.full(others.shape, p, dtype=np.intp)
        return (others, mine) if seeking == "mentor" else (mine, others)

    def _compatible(self, p: int, others: Idx, seeking: Side, *, stop_at_first: bool) -> int:
        """How many of ``others`` pass every hard check with ``p`` (``stop_at_first``: > 0 or 0, sooner)."""
        found = 0
        for lo in range(0, others.size, _CHUNK):
            chunk = others[lo : lo + _CHUNK]
            m, e = self._orient(p, chunk, seeking)
            alive = np.ones(chunk.size, dtype=np.bool_)
            for name in CHECK_ORDER:
                idx = np.flatnonzero(alive)
                if idx.size == 0:
                    break
                alive[idx] = check(self.index, name, m[idx], e[idx])
            found += int(np.count_nonzero(alive))
            if found and stop_at_first:
                return found
        return found

    def _any_compatible(self, p: int, others: Idx, seeking: Side) -> bool:
        return self._compatible(p, others, seeking, stop_at_first=True) > 0

    def reason_code(self, p: int, seeking: Side) -> str:
        if seeking == "mentee" and self.index.mentor_capacity[p] == 0:
            return "zero_capacity"
        if self._any_compatible(p, self.spare_pool[seeking], seeking):
            return "not_selected"
        others = self.universe[seeking]
        if self.has_edge[seeking][p] or self._any_compatible(p, others, seeking):
            return "capacity"
        m, e = self._orient(p, others, seeking)
        for name in CHECK_ORDER:
            ok = check(self.index, name, m, e)
            m, e = m[ok], e[ok]
            if m.size == 0:
                return name
        return "capacity"  # unreachable: _any_compatible said nobody survives

    # -- what to say ---------------------------------------------------------------------------

    def reason_text(self, p: int, seeking: Side, code: str) -> str:
        """The plain-words reason for ``code`` (from :meth:`reason_code`), with its numbers."""
        person = self.index.people[p]
        if code == "zero_capacity":
            return f"{person.name} can mentor but offered to take 0 mentees"
        if code == "not_selected":
            n = self._compatible(p, self.spare_pool[seeking], seeking, stop_at_first=False)
            text = (
                f"a compatible {seeking} with free places exists ({n:,} in all), but the best overall"
                " matching paired them elsewhere"
            )
            if self.binding_quotas:  # a quota at its limit may be what keeps them apart
                text += " within the cohort's quotas, and these are at their limit: " + "; ".join(
                    self.binding_quotas
                )
            return text
        if code == "capacity":
            return self._taken_text(p, seeking)
        return self._constraint_text(p, seeking, code)

    def _share_phrase(self, p: int, n: int) -> str:
        """ "speak(s) Japanese" or "share(s) a language with Raj Patel", agreeing with ``n``."""
        person = self.index.people[p]
        if len(person.languages) == 1:
            return f"{_verb(n, 'speaks', 'speak')} {self.wording.languages(person.languages)}"
        return f"{_verb(n, 'shares', 'share')} a language with {person.name}"

    def _seniority_phrase(self, seeking: Side) -> str:
        return "less senior" if seeking == "mentor" else "more senior"

    def _constraint_text(self, p: int, seeking: Side, code: str) -> str:
        """A hard constraint rules out everyone still left: say how many were left and why."""
        index, person, name = self.index, self.index.people[p], self.index.people[p].name
        others = self.universe[seeking]
        m, e = self._orient(p, others, seeking)
        removed: set[str] = set()  # checks before ``code`` that ruled someone out
        for check_name in CHECK_ORDER:
            if check_name == code:
                break
            ok = check(index, check_name, m, e)
            if not ok.all():
                removed.add(check_name)
            m, e = m[ok], e[ok]
        left = m if seeking == "mentor" else e  # the partners still possible before ``code``
        n = int(left.size)
        noun = seeking
        if code == "role":
            if others.size == 0:
                return f"there are no {noun}s in this cohort"
            return f"no one other than {name} in this cohort can be a {noun}"
        if code == "language":
            if not person.languages:
                return f"{name} has listed no language"
            langs = self.wording.languages(person.languages, "or")
            if n == 1:
                return f"the only {noun} does not speak {langs}"
            return f"none of the {n:,} {noun}s speaks {langs}"
        mode = index.policy.region_mode
        group = self._group_phrase(p, n, seeking, CHECK_ORDER[: CHECK_ORDER.index(code)], removed)
        if code == "region":
            if mode == "same_region":
                where = f"work outside {person.region}"
                rule = "the cohort pairs people within one region"
            else:
                where = f"work in {person.region} too"
                rule = "the cohort pairs people across regions only"
            return f"{group}; {_group(n)} {where}, and {rule}"
        if code == "seniority":
            senior = index.seniority[left]
            if seeking == "mentor":
                edge = f"at level {int(senior.min())} or above"
            else:
                edge = f"at level {int(senior.max())} or below"
            return (
                f"no {noun} is {self._seniority_phrase(seeking)} than {name} (level {person.seniority}): "
                f"{group}, and {_group(n)} are {edge}"
            )
        if code == "management":
            depth = index.policy.management_exclusion_depth
            levels = "level" if depth == 1 else "levels"
            return (
                f"{group}; {_group(n)} are in {name}'s own reporting line"
                f" (manager or report within {depth} {levels})"
            )
        if code == "forbidden":
            return f"{group}; {self._forbidden_detail(p, left, n)}"
        if code == "availability":
            mm, ee = (left, np.full(left.shape, p, dtype=np.intp))
            if seeking == "mentee":
                mm, ee = ee, mm
            best = int(index.avail.overlap_minutes(mm, ee).max()) if n else 0
            if not best:
                most = "no free time in common at all"
            else:
                most = f"they have {_hours(best)}" if n == 1 else f"the most is {_hours(best)}"
            need = _hours(index.policy.min_overlap_hours * 60)
            none = "they do not have" if n == 1 else "none has"
            return f"{group}; {none} {need} a week free at the same time as {name} ({most})"
        raise ValueError(f"unknown reason code {code!r}")

    def _group_phrase(self, p: int, n: int, seeking: Side, passed: tuple[str, ...], removed: set[str]) -> str:
        """ "12 mentors speak Japanese, work in EMEA and are less senior": what the ``n`` people who
        pass the checks ``passed`` have in common (checks that ruled nobody out are not repeated)."""
        person = self.index.people[p]
        traits = [self._share_phrase(p, n)]
        mode = self.index.policy.region_mode
        if "region" in passed and mode != "any":
            where = "in" if mode == "same_region" else "outside"
            traits.append(f"{_verb(n, 'works', 'work')} {where} {person.region}")
        be = _verb(n, "is", "are")
        if "seniority" in passed:
            traits.append(f"{be} {self._seniority_phrase(seeking)}")
        if "management" in passed and "management" in removed:
            traits.append(f"{be} outside {person.name}'s reporting line")
        if "forbidden" in passed and "forbidden" in removed:
            traits.append(f"{be} not blocked or paired with {person.name} before")
        return f"{_count(n, seeking)} {_join(traits)}"

    def _forbidden_detail(self, p: int, left: Idx, n: int) -> str:
        person = self.index.people[p]
        blocked = sum(
            1
            for q in left.tolist()
            if self.index.people[q].id in person.blocked_partner_ids
            or person.id in self.index.people[q].blocked_partner_ids
        )
        earlier = n - blocked
        parts = []
        if blocked:
            parts.append(f"{blocked:,} {_verb(blocked, 'is', 'are')} blocked by one of the two")
        if earlier:
            parts.append(
                f"{earlier:,} {_verb(earlier, 'was', 'were')} paired or proposed with {person.name} before"
                " (an earlier cohort, or a proposal declined or a pair ended in this one)"
            )
        return f"{_group(n)} are ruled out: " + "; ".join(parts)

    def _taken_text(self, p: int, seeking: Side) -> str:
        """Compatible partners exist but every one is taken: say so with the widest true count."""
        index, person = self.index, self.index.people[p]
        free = int(self.spare_pool[seeking].size)
        on_side = bool(index.can_mentor[p] if seeking == "mentor" else index.can_mentee[p])
        if (not on_side and free == 0) or (on_side and self.spare[seeking][p] > 0 and free == 1):
            return self._everyone_taken(seeking)  # everyone else on that side is taken: shared text
        others = self.universe[seeking]
        others = others[others != p]
        if bool((self.spare[seeking][others] <= 0).all()):
            return self._everyone_text(others, seeking)
        basic = self._basic_pool(p, seeking)
        if basic is not None and basic[0] > 0:  # all who share a language (etc.) are taken: plainer count
            n, predicate = basic
            group = self._group_phrase(p, n, seeking, _BASIC, set())
            return f"{group}; {_group(n)} {predicate}"
        suits = self._compatible_members(p, others, seeking)
        n = int(suits.size)
        if n == 0:  # defensive: the code says someone would suit
            return f"every {seeking} who would suit {person.name} is taken"
        predicate = self._taken_predicate(suits, seeking)
        return f"{_count(n, seeking)} would suit {person.name}; {_group(n)} {predicate}"

    def _everyone_taken(self, seeking: Side) -> str:
        """The text when everyone on that side but the person is taken (the same for all of them)."""
        if seeking not in self._everyone_cache:
            universe = self.universe[seeking]
            self._everyone_cache[seeking] = self._everyone_text(
                universe[self.spare[seeking][universe] <= 0], seeking
            )
        return self._everyone_cache[seeking]

    def _everyone_text(self, taken: Idx, seeking: Side) -> str:
        n = int(taken.size)
        who = f"the only {seeking}" if n == 1 else f"both {seeking}s" if n == 2 else f"all {n:,} {seeking}s"
        return f"{who} in this cohort {self._taken_predicate(taken, seeking, plural=n != 1)}"

    def _basic_pool(self, p: int, seeking: Side) -> tuple[int, str] | None:
        """(how many share a language, fit the region rule and seniority; what taken means for them),
        or None if some of them are free (then only the fully compatible ones are all taken).

        These checks are cheap and depend only on the person's languages, region and level, so the
        answer is cached for everyone alike (many unmatched people share them).
        """
        idx = self.index
        key = (seeking, idx.lang_bits[p].tobytes(), int(idx.region[p]), int(idx.seniority[p]))
        if key not in self._basic_cache:
            others = self.universe[seeking]
            m, e = self._orient(p, others, seeking)
            ok = np.ones(others.size, dtype=np.bool_)
            for name in _BASIC:
                ok &= check(idx, name, m, e)
            pool = others[ok]  # seniority is strict, so p is never in it
            taken = bool((self.spare[seeking][pool] <= 0).all())
            self._basic_cache[key] = (int(pool.size), self._taken_predicate(pool, seeking)) if taken else None
        return self._basic_cache[key]

    def _compatible_members(self, p: int, others: Idx, seeking: Side) -> Idx:
        out: list[Idx] = [np.zeros(0, dtype=np.intp)]
        for lo in range(0, others.size, _CHUNK):
            chunk = others[lo : lo + _CHUNK]
            m, e = self._orient(p, chunk, seeking)
            alive = np.ones(chunk.size, dtype=np.bool_)
            for name in CHECK_ORDER:
                idx = np.flatnonzero(alive)
                alive[idx] = check(self.index, name, m[idx], e[idx])
            out.append(chunk[alive])
        return np.concatenate(out)

    def _taken_predicate(self, people: Idx, seeking: Side, *, plural: bool = True) -> str:
        """What "taken" means for these people: their maximum of mentees, or a mentor already.

        Someone who can be mentor or mentee ("either") and has no free place is in a pair in one
        of the two roles; which one is not known here, so the text says only that. ``plural``: the
        subject it follows is plural ("all 3", "they") rather than "the only mentor".
        """
        index = self.index
        parts: list[tuple[int, str, str]] = []  # (how many, verb singular, verb plural + the rest)
        if seeking == "mentor":
            cap = index.mentor_capacity[people]
            zero = int(np.count_nonzero(cap == 0))
            plain = cap[(cap > 0) & ~index.either[people]]
            either = int(np.count_nonzero((cap > 0) & index.either[people]))
            if plain.size:
                lo, hi = int(plain.min()), int(plain.max())
                most = f"{lo} mentee{'' if lo == 1 else 's'}" if lo == hi else f"mentees ({lo} to {hi})"
                parts.append((int(plain.size), "already has", f"their maximum of {most}"))
            if zero:
                parts.append((zero, "offered", "to take no mentees"))
        else:
            plain_n = int(np.count_nonzero(~index.either[people]))
            either = int(people.size) - plain_n
            if plain_n:
                parts.append((plain_n, "already has", "a mentor"))
        if either:
            parts.append((either, "is", "already in a pair (as mentor or mentee)"))

        def said(verb: str, rest: str, many: bool) -> str:
            return f"{_PLURAL_VERB.get(verb, verb) if many else verb} {rest}"

        if len(parts) == 1:
            _, verb, rest = parts[0]
            return said(verb, rest, plural)
        return "are taken: " + ", ".join(f"{k:,} {said(verb, rest, k != 1)}" for k, verb, rest in parts)

    def explain(self, p: int) -> UnmatchedParticipant:
        person = self.index.people[p]
        sides: list[Side] = []
        if person.can_be_mentee:
            sides.append("mentor")
        if person.can_mentor:
            sides.append("mentee")
        codes: list[str] = []
        texts: list[str] = []
        for seeking in sides:
            code = self.reason_code(p, seeking)
            codes.append(code)
            texts.append(self.reason_text(p, seeking, code))
        if len(sides) == 2:
            text = f"as mentee: {texts[0]}; as mentor: {texts[1]}"
            return UnmatchedParticipant(person.id, "/".join(codes), text)
        return UnmatchedParticipant(person.id, codes[0], texts[0])
