"""Every problem type the services' code can emit, found by reading the source (AST), not by running it.

- `Problem(status, "Title", ...)`: the slug of the title (`bridge_shared.errors.slug_of`), or of its
  `type_=f"{TYPE_BASE}<slug>"` when given;
- `Problem(status, title, ...)` where `title` is a parameter of the enclosing function (a helper such
  as `ensure_phase(cohort, phases, "Enrolment closed", ...)`): the constant passed at every call of that
  function;
- every `f"{TYPE_BASE}<slug>"` anywhere (the handlers' own types, `problem_response(type_=...)`), and
  the request guard's `kind("<slug>")`.
A title that is neither a constant nor such a parameter is reported as unresolvable: the test fails,
so a problem whose type cannot be known statically cannot slip past the registry.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bridge_shared.errors import slug_of

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (ROOT / "services", ROOT / "shared" / "core" / "src")


@dataclass
class Scan:
    slugs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    unresolved: list[str] = field(default_factory=list)


def _is_problem_call(node: ast.Call) -> bool:
    f = node.func
    return (isinstance(f, ast.Name) and f.id == "Problem") or (
        isinstance(f, ast.Attribute) and f.attr == "Problem"
    )


def _type_base_slug(node: ast.AST) -> str | None:
    """`f"{TYPE_BASE}slug"` -> "slug"."""
    if (
        isinstance(node, ast.JoinedStr)
        and len(node.values) == 2
        and isinstance(node.values[0], ast.FormattedValue)
        and isinstance(node.values[0].value, ast.Name)
        and node.values[0].value.id == "TYPE_BASE"
        and isinstance(node.values[1], ast.Constant)
        and isinstance(node.values[1].value, str)
    ):
        return node.values[1].value
    return None


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def scan_sources(sources: Iterable[tuple[str, str]]) -> Scan:
    """`sources`: (location, python source) pairs."""
    scan = Scan()
    trees = [(loc, ast.parse(text)) for loc, text in sources]
    # Helper functions that raise Problem(status, <their parameter>): name -> (position, keyword).
    helpers: dict[str, tuple[int, str]] = {}
    pending: list[tuple[str, ast.Call, ast.FunctionDef | ast.AsyncFunctionDef | None]] = []
    for loc, tree in trees:
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and _is_problem_call(node):
                    pending.append((f"{loc}:{node.lineno}", node, func))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _is_problem_call(node)
                and not any(p[1] is node for p in pending)
            ):
                pending.append((f"{loc}:{node.lineno}", node, None))
            slug = _type_base_slug(node)
            if slug is not None:
                scan.slugs[slug].append(f"{loc}:{getattr(node, 'lineno', 0)}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "kind"
                and node.args
                and _str(node.args[0])
            ):
                scan.slugs[str(_str(node.args[0]))].append(f"{loc}:{node.lineno}")
    seen: set[int] = set()
    for where, call, func in pending:
        if id(call) in seen:
            continue
        seen.add(id(call))
        keywords = {k.arg: k.value for k in call.keywords}
        if "type_" in keywords and _type_base_slug(keywords["type_"]):
            continue  # counted with the f-strings
        title = keywords.get("title") or (call.args[1] if len(call.args) > 1 else None)
        text = _str(title)
        if text is not None:
            scan.slugs[slug_of(text)].append(where)
            continue
        if isinstance(title, ast.Name) and func is not None:
            params = [a.arg for a in func.args.args]
            if title.id in params:
                helpers[func.name] = (params.index(title.id), title.id)
                continue
        scan.unresolved.append(f"{where}: Problem title {ast.unparse(title) if title else '?'}")
    for loc, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in helpers:
                continue
            index, keyword = helpers[name]
            kw = {k.arg: k.value for k in node.keywords}
            arg = kw.get(keyword) or (node.args[index] if len(node.args) > index else None)
            text = _str(arg)
            if text is None:
                scan.unresolved.append(
                    f"{loc}:{node.lineno}: {name}(...) with a title that is not a constant"
                )
            else:
                scan.slugs[slug_of(text)].append(f"{loc}:{node.lineno}")
    return scan


def scan_repository() -> Scan:
    sources = []
    for root in SOURCE_ROOTS:
        for path in sorted(root.rglob("*.py")):
            if "tests" in path.parts or ".venv" in path.parts:
                continue
            sources.append((str(path.relative_to(ROOT)), path.read_text()))
    return scan_sources(sources)
