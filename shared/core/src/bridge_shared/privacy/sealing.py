"""Crypto-shredding of event fields: seal personal fields when an event is written, open them when
it is read, and find out which people's keys an event needs.

A field marked `Personal(by=...)` travels as `{"by": [participant ids], "sealed": "<base64url>"}`:
AES-256-GCM over the field's JSON value, with a key derived (HKDF-SHA256) from the keys of every
person in `by`, and those ids as associated data. The people's keys live in the key vault
(`vault.py`), never on Kafka. Erasing a person destroys their key: every copy of every field sealed
under it, in every topic, replay, rebuild and dead letter, can no longer be opened, and readers get
the field's `erased` value instead.
"""

from __future__ import annotations

import base64
import binascii
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel
from pydantic_core import from_json, to_json

from bridge_shared.privacy.classification import (
    DEFAULT_CLASSIFICATION,
    Classification,
    Classified,
    Personal,
    highest,
)

KEY_BYTES = 32
_INFO = b"bridge-sealed-v1"
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
Keys = Mapping[str, bytes | None]
"""A person's key by participant id; None when the person was erased."""


class SealingError(ValueError):
    """A sealed field that cannot be read (tampered, wrong shape) or a personal field left plain."""


# -- the plan: where a model's personal fields are ------------------------------------------------


@dataclass(frozen=True)
class _Step:
    name: str  # the field's name on the wire (models here use no aliases)
    personal: Personal | None
    child: type[BaseModel] | None  # a nested model (alone, optional, or in a list)
    many: bool  # a list of `child`


def _unwrap(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            child, many = _unwrap(arg)
            if child is not None:
                return child, many
        return None, False
    if origin in (list, tuple, typing.Sequence):
        args = typing.get_args(annotation)
        child, _ = _unwrap(args[0]) if args else (None, False)
        return child, child is not None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


@cache
def _plan(model: type[BaseModel]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for name, info in model.model_fields.items():
        personal = next((m for m in info.metadata if isinstance(m, Personal)), None)
        child, many = _unwrap(info.annotation)
        if child is not None and _has_personal(child):
            steps.append(_Step(name, None, child, many))
        elif personal is not None:
            steps.append(_Step(name, personal, None, False))
    return tuple(steps)


@cache
def _has_personal(model: type[BaseModel]) -> bool:
    return bool(_plan(model))


def has_personal_fields(model: type[BaseModel]) -> bool:
    """True when events of this model carry sealed fields (and need the key vault)."""
    return _has_personal(model)


@cache
def classification_of(model: type[BaseModel]) -> Classification:
    """The event's classification: the highest of its fields' (unmarked fields are `internal`)."""
    levels: list[Classification] = [DEFAULT_CLASSIFICATION]
    for info in model.model_fields.values():
        for m in info.metadata:
            if isinstance(m, Personal | Classified):
                levels.append(m.classification)
        child, _ = _unwrap(info.annotation)
        if child is not None:
            levels.append(classification_of(child))
    return highest(levels)


# -- walking a payload ----------------------------------------------------------------------------

Visit = Callable[[dict[str, Any], str, Personal, list[str]], None]


def _walk(model: type[BaseModel], data: dict[str, Any], root: dict[str, Any], visit: Visit) -> None:
    for step in _plan(model):
        if step.name not in data or data[step.name] is None:
            continue
        value = data[step.name]
        if step.child is not None:
            for item in value if step.many and isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    _walk(step.child, item, root, visit)
        elif step.personal is not None:
            visit(data, step.name, step.personal, _subjects(step.personal, data, root))


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _subjects(p: Personal, here: dict[str, Any], root: dict[str, Any]) -> list[str]:
    """The participant ids a field is sealed under: each name in `by` (dotted for nested fields, a
    list of ids allowed) is looked up in the field's own object, else from the event's root."""
    out: list[str] = []
    for name in p.by:
        value = _lookup(here, name)
        if value is None:
            value = _lookup(root, name)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and v:
                out.append(v)
    if not out:
        raise SealingError(f"no person to seal under: none of {', '.join(p.by)} is set")
    return sorted(set(out))


def subjects_to_seal(model: type[BaseModel], data: dict[str, Any]) -> set[str]:
    """The people whose keys sealing `data` (a plain JSON dump of a `model`) needs."""
    found: set[str] = set()
    _walk(model, data, data, lambda _d, _n, _p, subjects: found.update(subjects))
    return found


def subjects_to_open(model: type[BaseModel], data: dict[str, Any]) -> set[str]:
    """The people whose keys opening `data` (as received) needs: the `by` of each sealed field."""
    found: set[str] = set()

    def visit(here: dict[str, Any], name: str, _p: Personal, _s: list[str]) -> None:
        value = here[name]
        if isinstance(value, dict) and isinstance(value.get("by"), list):
            found.update(str(s) for s in value["by"])

    _walk_received(model, data, visit)
    return found


# -- sealing and opening --------------------------------------------------------------------------


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


@lru_cache(maxsize=4096)
def _derive(keys: tuple[bytes, ...], subjects: tuple[str, ...]) -> AESGCM:
    if len(keys) == 1:
        material = keys[0]
    else:
        material = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_aad(subjects)).derive(
            b"".join(keys)
        )
    return AESGCM(material)


@lru_cache(maxsize=4096)
def _aad(subjects: tuple[str, ...]) -> bytes:
    return _INFO + b"|" + "|".join(subjects).encode()


def seal_value(value: Any, subjects: list[str], keys: Keys) -> dict[str, Any]:
    """`{"by": subjects, "sealed": ...}`; `sealed` is None when one of them is erased or unknown."""
    by = tuple(sorted(set(subjects)))
    material = [keys.get(s) for s in by]
    if any(k is None for k in material):
        return {"by": list(by), "sealed": None}
    nonce = os.urandom(12)
    box = _derive(tuple(k for k in material if k is not None), by)
    ciphertext = box.encrypt(nonce, to_json(value), _aad(by))  # compact UTF-8 JSON, as from_json reads
    return {"by": list(by), "sealed": base64.urlsafe_b64encode(nonce + ciphertext).decode().rstrip("=")}


def open_value(sealed: Any, keys: Keys, personal: Personal) -> Any:
    """The plain value, or `personal.erased` when a key is destroyed (or the value was erased)."""
    if not (isinstance(sealed, dict) and isinstance(sealed.get("by"), list) and "sealed" in sealed):
        raise SealingError("a personal field must be sealed ({'by': [...], 'sealed': ...})")
    people = sealed["by"]
    by = (str(people[0]),) if len(people) == 1 else tuple(sorted(str(s) for s in people))
    blob = sealed["sealed"]
    material = tuple(keys.get(s) for s in by)
    if blob is None or not by or None in material:
        return personal.erased
    if not isinstance(blob, str):
        raise SealingError("'sealed' must be a base64url string or null")
    try:
        # base64url without padding, as seal_value writes it (binascii directly: this runs for every
        # personal field of every event a consumer reads)
        raw = binascii.a2b_base64((blob + "=" * (-len(blob) % 4)).encode("ascii").translate(_FROM_URLSAFE))
        box = _derive(material, by)  # every key present: checked above
        # pydantic-core's JSON parser (Rust): a short value parses in a tenth of json.loads's time
        return from_json(box.decrypt(raw[:12], raw[12:], _aad(by)))
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SealingError("a sealed field does not open with its people's keys (altered?)") from exc


def seal_payload(model: type[BaseModel], data: dict[str, Any], keys: Keys) -> dict[str, Any]:
    """`data` (a plain JSON dump of a `model`) with every personal field sealed, in place."""

    def visit(here: dict[str, Any], name: str, _p: Personal, subjects: list[str]) -> None:
        here[name] = seal_value(here[name], subjects, keys)

    _walk(model, data, data, visit)
    return data


def open_payload(model: type[BaseModel], data: dict[str, Any], keys: Keys) -> dict[str, Any]:
    """`data` (as received) with every sealed field opened, or its `erased` value, in place."""

    def visit(here: dict[str, Any], name: str, p: Personal, _s: list[str]) -> None:
        here[name] = open_value(here[name], keys, p)

    _walk_received(model, data, visit)
    return data


def _walk_received(model: type[BaseModel], data: dict[str, Any], visit: Visit) -> None:
    """Like `_walk`, without resolving `by` from the plan (a received field names its people)."""
    for step in _plan(model):
        if step.name not in data or data[step.name] is None:
            continue
        value = data[step.name]
        if step.child is not None:
            for item in value if step.many and isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    _walk_received(step.child, item, visit)
        elif step.personal is not None:
            visit(data, step.name, step.personal, [])
