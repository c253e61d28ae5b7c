"""The authorisation matrix (tests/e2e/authz_matrix.py) against the four services as separate
processes on real PostgreSQL and Kafka, seeded through the public APIs (tests/e2e/authz_seed.py).

One test per service: it reads the service's served /openapi.json, fails for any operation without a
matrix entry (and any entry the document no longer has), then calls every operation as every caller
and compares the outcome with the rule's. Every response is also searched for the seeded secrets
(webhook URLs): rule 8 says no one ever gets them back.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge_devstack.platform import Platform
from tests.e2e.authz_matrix import (
    ALLOW,
    CALLERS,
    DEFAULT_FILLS,
    DENY_403,
    HIDDEN_404,
    MATRIX,
    MIXED,
    SERVICES,
    SKIPPED,
    STAGES,
    UNAUTH_401,
    Cell,
    Op,
    fill,
)
from tests.e2e.authz_seed import SECRET_HR_WEBHOOK, SECRET_WEBHOOK, Seed, seed

pytestmark = pytest.mark.e2e

SECRETS = (
    SECRET_WEBHOOK,
    SECRET_HR_WEBHOOK,
    SECRET_WEBHOOK.rsplit("/", 1)[1],
    SECRET_HR_WEBHOOK.rsplit("/", 1)[1],
)


@pytest.fixture(scope="module")
async def seeded(platform: Platform) -> Seed:
    started = time.monotonic()
    s = await seed({svc: platform.url(svc) for svc in SERVICES})
    print(f"authz matrix: seeded in {time.monotonic() - started:.1f}s")
    return s


def outcome(status: int) -> str:
    if status == 401:
        return UNAUTH_401
    if status == 403:
        return DENY_403
    if status == 404:
        return HIDDEN_404
    if status >= 500 or status in (400, 405, 415):
        return f"HTTP_{status}"
    return ALLOW


@dataclass
class Result:
    operation: str
    caller: str
    expected: str
    got: str
    status: int
    title: str
    leaked: bool


def _title(r: httpx.Response) -> str:
    if r.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            body = r.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            title = str(body.get("title", ""))
            detail = str(body.get("detail", ""))
            return f"{title}: {detail}"[:90] if detail else title
    return ""


async def call(
    http: httpx.AsyncClient,
    s: Seed,
    service: str,
    operation: str,
    caller: str,
    expected: str,
    *,
    path: dict[str, str],
    body: Any,  # Any: a JSON body, or None
    csv_body: bytes | None,
    query: dict[str, str],
    self_person: str = "S",
    other_person: str = "O",
) -> Result:
    method, template = operation.split(" ", 1)
    url = s.urls[service] + template.format(**{k: fill(s, v) for k, v in path.items()})
    headers = s.headers(caller, self_person=self_person, other_person=other_person)
    kwargs: dict[str, Any] = {"params": query or None}
    if csv_body is not None:
        kwargs["content"] = csv_body
        headers = {**headers, "Content-Type": "text/csv"}
    elif body is not None:
        kwargs["json"] = body
    r = await http.request(method, url, headers=headers, **kwargs)
    leaked = any(secret in r.text for secret in SECRETS) if r.content else False
    return Result(operation, caller, expected, outcome(r.status_code), r.status_code, _title(r), leaked)


def _params(template: str) -> list[str]:
    return [part.split("}", 1)[0] for part in template.split("{")[1:]]


async def run_op(http: httpx.AsyncClient, s: Seed, service: str, operation: str, op: Op) -> list[Result]:
    fills = {p: op.path.get(p, DEFAULT_FILLS[service].get(p, "")) for p in _params(operation)}
    missing = [p for p, v in fills.items() if not v]
    if missing:
        raise AssertionError(f"{service} {operation}: no way to fill {missing}")

    def one(caller: str) -> Any:
        return call(
            http,
            s,
            service,
            operation,
            caller,
            op.expect[caller],
            path=fills,
            body=op.body(s) if op.body else None,
            csv_body=op.csv(s) if op.csv else None,
            query=dict(op.query),
            self_person=op.self_person,
            other_person=op.other_person,
        )

    # Callers expected to be refused first, so an allowed write cannot change what they would see.
    order = sorted(CALLERS, key=lambda c: op.expect[c] == ALLOW)
    if op.stage == 0:
        return list(await asyncio.gather(*(one(c) for c in order)))
    return [await one(c) for c in order]


def table(rows: list[Result]) -> str:
    head = ("operation", "caller", "expected", "got", "status", "response title")
    data = [(r.operation, r.caller, r.expected, r.got, str(r.status), r.title) for r in rows]
    widths = [max(len(x[i]) for x in [head, *data]) for i in range(5)]
    lines = []
    for row in [head, *data]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
    return "\n".join(lines)


def documented(openapi: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, ops in openapi["paths"].items()
        for method in ops
        if method in ("get", "put", "post", "patch", "delete", "head", "options")
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_authz_matrix(service: str, seeded: Seed) -> None:
    s = seeded
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=60) as http:
        doc = (await http.get(f"{s.urls[service]}/openapi.json")).json()
        ops = documented(doc)
        entries = MATRIX[service]
        unlisted = sorted(ops - set(entries) - set(SKIPPED[service]))
        stale = sorted((set(entries) | set(SKIPPED[service])) - ops)
        problems: list[str] = []
        if unlisted:
            problems.append(
                f"{service}: operations without a matrix entry (add them to tests/e2e/authz_matrix.py): "
                + ", ".join(unlisted)
            )
        if stale:
            problems.append(
                f"{service}: matrix entries no longer in the OpenAPI document: " + ", ".join(stale)
            )

        results: list[Result] = []
        for stage in STAGES:
            for operation, op in entries.items():
                if op.stage == stage and operation in ops:
                    results += await run_op(http, s, service, operation, op)
        for cell in MIXED:
            if cell.service != service:
                continue
            fills = {p: cell.path.get(p, DEFAULT_FILLS[service].get(p, "")) for p in _params(cell.operation)}
            results.append(await _mixed(http, s, service, cell, fills))
    elapsed = time.monotonic() - started
    wrong = [r for r in results if r.got != r.expected]
    leaks = [r for r in results if r.leaked]
    print(f"authz matrix {service}: {len(results)} cells in {elapsed:.1f}s, {len(wrong)} disagree")
    dump = os.environ.get("BRIDGE_AUTHZ_MATRIX_DUMP")
    if dump:  # every cell, for reading the whole grid (e.g. which allowed calls got 409 or 422)
        with Path(dump).open("a", encoding="utf-8") as f:  # noqa: ASYNC230 (a test's report file)
            f.write(f"== {service}\n{table(results)}\n\n")
    if wrong:
        problems.append(
            f"{service}: {len(wrong)} of {len(results)} cells disagree with the rule:\n" + table(wrong)
        )
    if leaks:
        problems.append(f"{service}: responses carrying a secret (rule 8):\n" + table(leaks))
    assert not problems, "\n\n".join(problems)


async def _mixed(http: httpx.AsyncClient, s: Seed, service: str, cell: Cell, fills: dict[str, str]) -> Result:
    r = await call(
        http,
        s,
        service,
        cell.operation,
        cell.caller,
        cell.expect,
        path=fills,
        body=cell.body(s) if cell.body else None,
        csv_body=cell.csv(s) if cell.csv else None,
        query={},
    )
    r.operation = f"{cell.operation} [cohort M: {cell.why}]"
    return r


# -- omission and redaction: what an allowed list or record must not contain ------------------------


async def test_out_of_scope_rows_are_omitted_and_partners_redacted(seeded: Seed) -> None:
    s = seeded
    m, se, no, rp = (s.urls[x] for x in SERVICES)
    t, mid = s.ids["cohort_id"], s.ids["mixed_cohort_id"]
    found: list[str] = []
    async with httpx.AsyncClient(timeout=60) as http:

        async def get(caller: str, url: str, **params: str) -> httpx.Response:
            return await http.get(url, headers=s.headers(caller), params=params or None)

        # hr_out (AMER) sees none of the targets in any list.
        cohorts = (await get("hr_out", f"{m}/cohorts")).json()
        if {c["id"] for c in cohorts} & {t, mid}:
            found.append("GET /cohorts as hr_out lists an APAC/EMEA cohort")
        rels = (await get("hr_out", f"{se}/relationships")).json()
        if {r["id"] for r in rels} & {s.ids["relationship_id"], s.ids["mixed_relationship_id"]}:
            found.append("GET /relationships as hr_out lists an out-of-scope relationship")
        deliveries = (await get("hr_out", f"{no}/deliveries")).json()
        if any(d.get("cohort_id") in (t, mid) for d in deliveries):
            found.append("GET /deliveries as hr_out lists deliveries of out-of-scope cohorts")
        for dataset in ("participants", "pairs"):
            text = (await get("hr_out", f"{rp}/reports/exports/{dataset}.csv")).text
            if s.emp["S"] in text or s.emp["ME"] in text or "Authz " in text:
                found.append(f"exports/{dataset}.csv as hr_out carries out-of-scope people")

        # hr_in (APAC) in the mixed cohort: ME (EMEA) is omitted from person lists.
        people = (await get("hr_in", f"{m}/cohorts/{mid}/participants")).json()
        if any(p.get("employee_id") == s.emp["ME"] for p in people):
            found.append("GET /cohorts/M/participants as hr_in lists ME (home region EMEA)")
        log = (await get("hr_in", f"{no}/deliveries", cohort_id=mid)).json()
        if any(
            d.get("to_address") == s.email["ME"] or d.get("recipient_id") in (s.pid["ME"], s.emp["ME"])
            for d in log
        ):
            found.append("GET /deliveries?cohort_id=M as hr_in lists deliveries addressed to ME")
        export = (await get("hr_in", f"{rp}/reports/exports/participants.csv")).text
        rows = list(csv.reader(io.StringIO(export)))
        if any(s.emp["ME"] in row for row in rows):
            found.append("exports/participants.csv as hr_in carries ME (home region EMEA)")
        if not any(s.emp["MA"] in row for row in rows):
            found.append("exports/participants.csv as hr_in lacks MA (APAC): the check would prove nothing")
        pairs = (await get("hr_in", f"{rp}/reports/exports/pairs.csv")).text
        if s.email["ME"] in pairs:
            found.append("exports/pairs.csv as hr_in carries ME's e-mail (rule 3 redaction)")

        # The cross-region relationship as hr_in: the EMEA partner by ids, name, region only.
        rel = (await get("hr_in", f"{se}/relationships/{s.ids['mixed_relationship_id']}")).json()
        if rel.get("mentor_timezone"):
            found.append(
                f"GET /relationships/RM as hr_in shows ME's time zone {rel.get('mentor_timezone')!r} "
                "(rule 3: the out-of-scope partner's time zone is never shown)"
            )
        me = (await get("hr_in", f"{m}/cohorts/{mid}/pairs")).json()
        if s.email["ME"] in str(me):
            found.append("GET /cohorts/M/pairs as hr_in carries ME's e-mail")
    assert not found, "\n".join(found)
