"""Revenue records as JSON: contract states, catalog rows and settings, both ways, by their types.

The domain's records are frozen dataclasses with dates, tuples, frozensets, literals and nested
records. One pair of functions walks a dataclass's type hints instead of a hand-written codec per
class, so a field added to the domain is stored without a change here. Output is canonical
(sorted keys, no spaces) so equal records store equal text.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import orjson

T = TypeVar("T")

NESTING_MAX = 32


class CodecError(ValueError):
    """A stored or submitted document does not have the shape of the record asked for."""


def to_plain(value: Any) -> Any:
    """Turn a record into JSON-ready values: dataclasses become objects, dates ISO strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(to_plain(item) for item in value)
    if isinstance(value, tuple | list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    return value


def dumps(value: Any) -> str:
    """Canonical JSON text of a record."""
    return orjson.dumps(to_plain(value), option=orjson.OPT_SORT_KEYS).decode()


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def from_plain(kind: Any, value: Any, *, depth: int = 0) -> Any:  # noqa: PLR0911, PLR0912
    """Build a value of type `kind` from JSON values, checking the shape as it goes."""
    if depth > NESTING_MAX:
        raise CodecError("document nested too deeply")
    origin = get_origin(kind)
    if kind is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(kind)
        if value is None and type(None) in options:
            return None
        problems = []
        for option in options:
            if option is type(None):
                continue
            try:
                return from_plain(option, value, depth=depth + 1)
            except (CodecError, TypeError, ValueError) as error:
                problems.append(str(error))
        raise CodecError("; ".join(problems) or f"{value!r} does not fit {kind}")
    if origin is Literal:
        if value not in get_args(kind):
            raise CodecError(f"{value!r} is not one of {list(get_args(kind))}")
        return value
    if origin is tuple:
        args = get_args(kind)
        if not isinstance(value, list):
            raise CodecError(f"expected a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], item, depth=depth + 1) for item in value)
        if len(args) != len(value):
            raise CodecError(f"expected {len(args)} items, got {len(value)}")
        return tuple(
            from_plain(a, item, depth=depth + 1) for a, item in zip(args, value, strict=True)
        )
    if origin is frozenset:
        if not isinstance(value, list):
            raise CodecError(f"expected a list, got {type(value).__name__}")
        (item_kind,) = get_args(kind)
        return frozenset(from_plain(item_kind, item, depth=depth + 1) for item in value)
    if origin is dict or origin is typing.Mapping:
        key_kind, item_kind = get_args(kind)
        if not isinstance(value, dict):
            raise CodecError(f"expected an object, got {type(value).__name__}")
        return {
            from_plain(key_kind, key, depth=depth + 1): from_plain(item_kind, item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _record(kind, value, depth=depth)
    if kind is date:
        if not isinstance(value, str):
            raise CodecError(f"expected an ISO date, got {value!r}")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise CodecError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
    if kind is bool:
        if not isinstance(value, bool):
            raise CodecError(f"expected true or false, got {value!r}")
        return value
    if kind is int:
        if type(value) is not int:
            raise CodecError(f"expected an integer, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise CodecError(f"expected a string, got {value!r}")
        return value
    raise CodecError(f"cannot read a {kind!r}")


def _record(kind: type, value: Any, *, depth: int) -> Any:
    if not isinstance(value, dict):
        raise CodecError(f"{kind.__name__}: expected an object, got {type(value).__name__}")
    hints = _hints(kind)
    fields = {f.name: f for f in dataclasses.fields(kind) if f.init}
    unknown = set(value) - set(fields)
    if unknown:
        raise CodecError(f"{kind.__name__}: unknown fields {sorted(unknown)}")
    arguments = {}
    for name, field in fields.items():
        if name not in value:
            has_default = (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            )
            if not has_default:
                raise CodecError(f"{kind.__name__}: field {name} is required")
            continue
        try:
            arguments[name] = from_plain(hints[name], value[name], depth=depth + 1)
        except CodecError as error:
            raise CodecError(f"{kind.__name__}.{name}: {error}") from None
    return kind(**arguments)


def loads(kind: type[T], text: str | bytes) -> T:
    """Read a record of type `kind` from JSON text."""
    try:
        plain = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise CodecError(f"not JSON: {error}") from None
    result: T = from_plain(kind, plain)
    return result
