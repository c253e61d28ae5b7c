"""Seeded synthetic enterprise populations for the matching benchmark.

Realistic structure rather than uniform noise: a management tree (depth 7,
seniority by level, departments = the CEO's direct reports' subtrees), regions
with their real time zones, languages correlated with the office (English
widespread), Zipf-distributed skill popularity (a few popular skills, a long
tail of rare ones), juniors sharing digital skills and wanting leadership ones
(and the reverse for seniors), and windows in local working hours. Languages are
BCP 47 primary subtags ("en", "de", "zh", ...), as the service stores them.

Roles follow seniority: juniors mentor, seniors are mentees, and the two middle
levels include some "either" people (about 8% of everyone). ``either_share``
sets that share instead: about that fraction of participants become "either",
drawn from the middle seniority levels (1-4), while everyone else keeps the role
the default rule gives them. The draw uses its own seeded generator, so the rest
of the population (tree, offices, skills, windows) is the same for every share.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from bridge_matching.domain.engine import AvailabilityWindow, Pair, Participant

# office time zone -> (region, primary languages, probability of also speaking English)
OFFICES: dict[str, tuple[str, tuple[str, ...], float]] = {
    "Europe/London": ("EMEA", ("en",), 1.0),
    "Europe/Berlin": ("EMEA", ("de",), 0.85),
    "Europe/Paris": ("EMEA", ("fr",), 0.7),
    "Europe/Madrid": ("EMEA", ("es",), 0.7),
    "Africa/Johannesburg": ("EMEA", ("en", "af"), 1.0),
    "Asia/Dubai": ("EMEA", ("ar",), 0.95),
    "America/New_York": ("AMER", ("en",), 1.0),
    "America/Chicago": ("AMER", ("en",), 1.0),
    "America/Los_Angeles": ("AMER", ("en",), 1.0),
    "America/Mexico_City": ("AMER", ("es",), 0.6),
    "America/Sao_Paulo": ("AMER", ("pt",), 0.6),
    "America/Toronto": ("AMER", ("en", "fr"), 1.0),
    "Asia/Kolkata": ("APAC", ("hi",), 0.95),
    "Asia/Tokyo": ("APAC", ("ja",), 0.5),
    "Asia/Singapore": ("APAC", ("en", "zh"), 1.0),
    "Australia/Sydney": ("APAC", ("en",), 1.0),
    "Asia/Shanghai": ("APAC", ("zh",), 0.5),
    "Pacific/Auckland": ("APAC", ("en",), 1.0),
}
OFFICE_WEIGHTS = [12, 8, 5, 3, 2, 2, 12, 6, 6, 3, 3, 3, 12, 5, 4, 4, 4, 1]
DEPARTMENTS = [
    "Sales",
    "Engineering",
    "Finance",
    "HR",
    "Marketing",
    "Operations",
    "Legal",
    "Product",
]

DIGITAL = [
    "generative AI", "data storytelling", "social media", "prompt engineering", "cloud basics",
    "cybersecurity hygiene", "no-code automation", "TikTok marketing", "agile rituals", "SQL",
    "Python scripting", "UX research", "remote collaboration tools", "data privacy", "dashboards",
]  # fmt: skip
LEADERSHIP = [
    "stakeholder management", "strategic planning", "negotiation", "executive presence",
    "budgeting", "public speaking", "career navigation", "conflict resolution", "hiring",
    "coaching", "board communication", "change management", "decision making", "networking",
]  # fmt: skip
DIGITAL += [f"digital skill {i:03d}" for i in range(len(DIGITAL), 90)]
LEADERSHIP += [f"leadership skill {i:03d}" for i in range(len(LEADERSHIP), 70)]

MAX_DEPTH = 7  # levels 0..7: CEO is the most senior
EITHER_LEVELS = range(1, 5)  # seniority levels that "either" people are drawn from (``either_share``)


@dataclass(frozen=True)
class Cohort:
    participants: list[Participant]
    history: list[Pair]


def _zipf(rng: random.Random, items: list[str], k: int) -> set[str]:
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(items))]
    out: set[str] = set()
    while len(out) < k:
        out.add(rng.choices(items, weights)[0])
    return out


def _windows(rng: random.Random) -> tuple[AvailabilityWindow, ...]:
    days = rng.sample(range(5), rng.randint(2, 4))
    out = []
    for day in sorted(days):
        start = rng.choice(range(8 * 4, 16 * 4, 2)) * 15  # 08:00-15:30, half-hour steps
        length = rng.choice([60, 90, 120, 180])
        end = min(start + length, 19 * 60)
        out.append(
            AvailabilityWindow(day, f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}")
        )
    if rng.random() < 0.1:  # some people also offer an evening slot
        out.append(AvailabilityWindow(rng.randrange(5), "19:00", "21:00"))
    return tuple(out)


def _default_role(seniority: int) -> str:
    """The role of someone who is not "either": mentees from level 3 up (as the default rule leans)."""
    return "mentee" if seniority >= 3 else "mentor"


def _set_either_share(participants: list[Participant], share: float, seed: int) -> list[Participant]:
    """round(share * n) "either" people, all from ``EITHER_LEVELS``; the others keep their role
    (an "either" person of the default rule who is not drawn gets ``_default_role``)."""
    n = len(participants)
    target = round(share * n)
    eligible = [i for i, p in enumerate(participants) if p.seniority in EITHER_LEVELS]
    if not 0.0 <= share <= 1.0 or target > len(eligible):
        top = len(eligible) / max(n, 1)
        raise ValueError(f"either_share must be between 0 and {top:.2f} (the middle levels' share)")
    chosen = set(random.Random(f"either:{seed}").sample(eligible, target))
    out = []
    for i, p in enumerate(participants):
        if i in chosen:
            role = "either"
        elif p.role == "either":
            role = _default_role(p.seniority)
        else:
            role = p.role
        out.append(p if role == p.role else dataclasses.replace(p, role=role))
    return out


def generate(n: int, seed: int = 7, *, either_share: float | None = None) -> Cohort:
    """A cohort of ``n`` people; ``either_share`` (0..~0.56): the share of "either" people
    (None: the default rule, about 8%)."""
    rng = random.Random(seed)
    # Level sizes grow geometrically, so the tree is a pyramid of depth MAX_DEPTH.
    growth = 1.25
    raw = [growth**d for d in range(MAX_DEPTH + 1)]
    sizes = [max(1, round(n * r / sum(raw))) for r in raw]
    sizes[0] = 1
    sizes[-1] += n - sum(sizes)
    offices = list(OFFICES)
    people: list[dict[str, object]] = []
    prev: list[int] = []
    for depth, size in enumerate(sizes):
        level = []
        for _ in range(size):
            idx = len(people)
            boss = rng.choice(prev) if prev else None
            if boss is None:
                dept, office = "Executive", offices[0]
            else:
                parent = people[boss]
                dept = rng.choice(DEPARTMENTS) if depth == 1 else str(parent["department"])
                same_office = rng.random() < 0.7
                office = str(parent["office"]) if same_office else rng.choices(offices, OFFICE_WEIGHTS)[0]
            people.append(
                {
                    "id": f"E{idx:06d}",
                    "boss": boss,
                    "depth": depth,
                    "department": dept,
                    "office": office,
                }
            )
            level.append(idx)
        prev = level
    participants = []
    for rec in people:
        depth = int(rec["depth"])  # type: ignore[call-overload]
        seniority = MAX_DEPTH - depth
        if seniority >= 4:
            role = "mentee"
        elif seniority == 3:
            role = rng.choices(["mentee", "either", "mentor"], [5, 4, 1])[0]
        elif seniority == 2:
            role = rng.choices(["mentee", "either", "mentor"], [1, 2, 7])[0]
        else:
            role = "mentor"
        office = str(rec["office"])
        region, langs, english = OFFICES[office]
        languages = set(langs)
        if rng.random() < english:
            languages.add("en")
        if rng.random() < 0.08:
            languages.add(rng.choice(["es", "fr", "de", "zh"]))
        junior = seniority <= 2
        share = _zipf(rng, DIGITAL if junior else LEADERSHIP, rng.randint(2, 5))
        learn = _zipf(rng, LEADERSHIP if junior else DIGITAL, rng.randint(1, 4))
        boss = rec["boss"]
        participants.append(
            Participant(
                id=str(rec["id"]),
                role=role,  # type: ignore[arg-type]
                seniority=seniority,
                department=str(rec["department"]),
                manager_id=None if boss is None else f"E{boss:06d}",
                region=region,
                languages=frozenset(languages),
                time_zone=office,
                availability=_windows(rng),
                skills_to_share=frozenset(share),
                skills_to_learn=frozenset(learn),
                capacity=rng.choices([1, 2, 3], [7, 2, 1])[0],
            )
        )
    if either_share is not None:
        participants = _set_either_share(participants, either_share, seed)
    ids = [p.id for p in participants]
    # A few explicit requests and blocks, and a previous cohort's pairs.
    final = []
    for p in participants:
        req = {rng.choice(ids)} if rng.random() < 0.02 else set()
        blk = {rng.choice(ids)} if rng.random() < 0.01 else set()
        final.append(
            Participant(
                **{  # type: ignore[arg-type]
                    f: getattr(p, f)
                    for f in Participant.__dataclass_fields__
                    if f not in ("requested_partner_ids", "blocked_partner_ids")
                },
                requested_partner_ids=frozenset(req - {p.id}),
                blocked_partner_ids=frozenset(blk - {p.id}),
            )
        )
    mentors = [p.id for p in final if p.role != "mentee"]
    mentees = [p.id for p in final if p.role != "mentor"]
    history = [Pair(rng.choice(mentors), rng.choice(mentees)) for _ in range(n // 20)]
    return Cohort(final, history)


if __name__ == "__main__":
    import collections

    cohort = generate(10_000)
    print(collections.Counter(p.role for p in cohort.participants))
    print(collections.Counter(p.role for p in generate(10_000, either_share=0.3).participants))
    print(collections.Counter(p.seniority for p in cohort.participants))
    print(collections.Counter(p.region for p in cohort.participants))
