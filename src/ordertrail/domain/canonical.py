"""Canonical JSON and checksums: the byte form that idempotency and tamper evidence rest on."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

# One encoder for every call: `json.dumps` with non-default options builds a new JSONEncoder each
# time, which costs as much as encoding a small event. The encoder keeps no state between calls,
# so sharing it is safe across threads, and `encode` gives exactly what `json.dumps` gives.
_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
)


def canonical_json(value: Any) -> str:
    """Serialize to canonical JSON: sorted keys, no insignificant whitespace, UTF-8 text.

    Money and quantities are integers by schema; a float a client sends anyway is written in
    Python's shortest round-trip form, which is stable for the same input.
    """
    return _ENCODER.encode(value)


def canonical_json_of_own(value: Any) -> str:
    """Serialize a value Ordertrail built itself to the same text `canonical_json` gives, faster.

    For values with string keys, integers within 64 bits, no floats and valid Unicode (what the
    order state and the milestone messages hold) orjson with sorted keys writes exactly the text
    of `canonical_json`, as a property test checks, at several times the speed. Client bodies
    still go through `canonical_json`: they may hold floats, whose text orjson writes differently.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class NotCanonicalJson(ValueError):
    """Text that is not JSON, or JSON that cannot be stored as canonical UTF-8 JSON."""


def _refuse_constant(name: str) -> Any:
    raise NotCanonicalJson(f"{name} is not a JSON value")


def parse_strict_json(text: str | bytes) -> Any:
    """Parse RFC 8259 JSON that can be stored and checksummed as canonical JSON, or raise.

    Python's parser is laxer than JSON: it accepts NaN and Infinity, turns 1e400 into infinity,
    and lets lone surrogate escapes through. None of those has a canonical form or a UTF-8
    encoding, so they are refused here, where the caller can still quarantine the raw text.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
        canonical_json(value).encode("utf-8")
    except RecursionError:
        raise NotCanonicalJson("the JSON is nested too deeply") from None
    except NotCanonicalJson:
        raise
    except ValueError as error:
        raise NotCanonicalJson(str(error)) from None
    return value
