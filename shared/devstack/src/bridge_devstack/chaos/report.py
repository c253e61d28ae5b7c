"""The table and the JSON line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bridge_devstack.chaos.faults import RECOVERY_BOUND
from bridge_devstack.chaos.runner import RunResult


def _secs(v: float | None, bound: float) -> str:
    return f"> {bound:.0f} s" if v is None else f"{v:.1f} s"


def table(results: Sequence[RunResult], bound: float) -> str:
    lines: list[str] = []
    head = f"{'effect':<38}{'expected':>9}{'observed':>9}{'lost':>6}{'late':>6}{'dup':>5}{'smtp-dup':>9}"
    for r in results:
        lines.append("")
        verdict = "OK" if r.ok else "FAILED"
        lines.append(
            f"== {r.fault.title} [{r.fault.name}] cohort {r.cohort_id or '-'}: "
            f"{r.pairs} pairs, {r.held} held; "
            f"converge {_secs(r.converge, bound)} after the fault ({_secs(r.after_driven, bound)} after the "
            f"last call), wall {r.wall:.0f} s: {verdict}"
        )
        for note in r.fault.notes:
            lines.append(f"   fault {note}")
        if r.fault.recoveries:
            lines.append(
                "   in flight at each injection went through in: "
                + ", ".join(_secs(x, RECOVERY_BOUND) for x in r.fault.recoveries)
            )
        if r.error:
            lines.append(f"   error: {r.error}")
        lines.append("   " + head)
        for e in r.effects:
            smtp = str(e.smtp_window) if e.smtp_window else "-"
            lines.append(
                f"   {e.name:<38}{e.expected:>9}{e.observed:>9}{e.lost:>6}{e.late:>6}"
                f"{e.duplicated:>5}{smtp:>9}"
            )
            for ev in e.evidence[:5] if (e.lost or e.duplicated or e.smtp_window) else []:
                lines.append(f"      {ev}")
        if r.other_emails:
            lines.append(f"   other emails (not judged): {r.other_emails}")
        if r.backlog_left:
            lines.append(f"   still in flight at the final count: {r.backlog_left}")
    lines.append("")
    lines.append(
        "Summary (smtp-dup: the same Message-ID twice, the documented SMTP window; "
        "at most the messages in flight per notifications kill; late: of lost, seen only after the bound)"
    )
    lines.append(
        f"{'fault':<40}{'expected':>9}{'observed':>9}{'lost':>6}{'late':>6}{'dup':>5}{'smtp-dup':>10}"
        f"{'converge':>10}{'recover':>10}{'wall':>7}  verdict"
    )
    for r in results:
        smtp = f"{r.smtp_window}/{r.fault.smtp_window_allowance}"
        recover = _secs(r.recover, RECOVERY_BOUND) if r.fault.recoveries else "-"
        lines.append(
            f"{r.fault.title:<40}{r.expected:>9}{r.observed:>9}{r.lost:>6}{r.late:>6}{r.duplicated:>5}{smtp:>10}"
            f"{_secs(r.converge, bound):>10}{recover:>10}{r.wall:>6.0f}s  {'ok' if r.ok else 'FAILED'}"
            + (" (error)" if r.error else "")
        )
    return "\n".join(lines)


def json_line(results: Sequence[RunResult], *, profile: str, wall: float, extra: dict[str, Any]) -> str:
    return json.dumps(
        {
            "chaos": {
                "profile": profile,
                "ok": all(r.ok for r in results),
                "wall_seconds": round(wall, 1),
                "lost": sum(r.lost for r in results),
                "duplicated": sum(r.duplicated for r in results),
                "smtp_window_duplicates": sum(r.smtp_window for r in results),
                **extra,
                "runs": [r.as_dict() for r in results],
            }
        },
        separators=(",", ":"),
        default=str,
    )
