"""The pair timeline entry every pair-related event contributes.

Minimisation: the entry's `detail` is the event's payload without personal data — no field the
contracts classify as personal or sensitive (names, e-mails, employee ids of actors, free text, the
calendar invite), at any depth, and none of the free-text fields v1 carried unmarked (`reason`,
an explanation's `summary`, an HR contact's e-mail). What people wrote stays only in the readable
`summary`, which an erasure redacts.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel

from bridge_reporting.domain import tables as t
from bridge_reporting.domain.upsert import JsonText, Row, Table
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.privacy.classification import Classified, Personal

Rows = list[tuple[Table, Row]]

UNMARKED_PRIVATE = frozenset({"reason", "summary", "hr_contact_email", "invite"})
"""Fields kept out of `detail` although v1 does not mark them personal (free text, contacts)."""


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [x for arg in typing.get_args(annotation) for x in _models(arg)]


@cache
def private_fields(model: type[BaseModel]) -> frozenset[str]:
    """Names of the fields of `model` (and of the models nested in it) classified personal or
    sensitive, plus UNMARKED_PRIVATE."""
    out = set(UNMARKED_PRIVATE)
    for name, info in model.model_fields.items():
        for mark in info.metadata:
            if isinstance(mark, Personal) or (
                isinstance(mark, Classified) and mark.classification in ("personal", "sensitive")
            ):
                out.add(name)
        for child in _models(info.annotation):
            out |= private_fields(child)
    return frozenset(out)


def _without(value: Any, names: frozenset[str]) -> Any:  # Any: a JSON value
    if isinstance(value, dict):
        return {k: _without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_without(v, names) for v in value]
    return value


def minimised(p: BaseModel) -> dict[str, Any] | JsonText:
    """The payload as JSON without its personal fields (see the module docstring): the JSON text,
    written by pydantic in one pass, when the model's shape allows it (see `_exclusion`), else the
    JSON value (same content)."""
    names = private_fields(type(p))
    spec = _exclusion(type(p), names)
    if spec is not None:
        return JsonText(p.model_dump_json(exclude=spec))
    detail: dict[str, Any] = _without(p.model_dump(mode="json"), names)
    return detail


_SCALARS = (str, int, float, bool, datetime, date, type(None))


@cache
def _exclusion(model: type[BaseModel], names: frozenset[str]) -> dict[str, Any] | None:
    """What `_without(model_dump(...), names)` removes, as pydantic's `exclude`: every field named
    in `names` at any depth, and such keys of plain dicts. None when a field's shape is one this
    cannot state (a dict holding objects, an untyped value): `_without` does it then."""
    spec: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in names:
            spec[name] = True
            continue
        inner = _field_exclusion(info.annotation, names)
        if inner is None:
            return None
        if inner:
            spec[name] = inner
    return spec


def _field_exclusion(annotation: Any, names: frozenset[str]) -> Any:
    """{} when nothing inside needs removing; a nested exclude; None when it cannot be stated."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _field_exclusion(args[0], names)
    if origin is typing.Literal or annotation in _SCALARS:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _exclusion(annotation, names)
    if origin in (typing.Union, types.UnionType):
        found = [_field_exclusion(a, names) for a in args]
        if any(f is None for f in found):
            return None
        nonempty = [f for f in found if f]
        return nonempty[0] if len(nonempty) == 1 else ({} if not nonempty else None)
    if origin in (list, tuple, set, frozenset, typing.Sequence) and len(args) == 1:
        inner = _field_exclusion(args[0], names)
        return None if inner is None else ({"__all__": inner} if inner else {})
    if origin is dict and len(args) == 2 and _field_exclusion(args[1], names) == {}:
        return dict.fromkeys(names, True)  # keys of a plain mapping with these names
    return None


@cache
def _entry_type(event_type: str) -> str:
    """`matching.pair.formed` for `com.bridge.matching.pair.formed.v2`."""
    return event_type.removeprefix("com.bridge.").rsplit(".v", 1)[0]


def timeline(
    event_id: str,
    p: s.RelationshipEvent | m.PairFormedV1 | m.PairDissolvedV1 | m.PairFlaggedV1,
    at: datetime,
    summary: str,
) -> tuple[Table, Row]:
    return t.TIMELINE, {
        "event_id": event_id,
        "pair_id": p.pair_id,
        "cohort_id": p.cohort_id,
        "occurred_at": at,
        "event_type": _entry_type(type(p).event_type),
        "summary": summary,
        "detail": minimised(p),
    }
