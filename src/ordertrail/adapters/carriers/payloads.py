"""What every webhook body parser shares: JSON decoding, time parsing and a named failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

# A webhook body is a handful of scans; this bounds what one delivery may turn into.
SCANS_PER_BODY_MAX = 1_000


class PayloadInvalid(ValueError):
    """A correctly signed body that is not the provider's documented shape."""


def json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise PayloadInvalid(f"the body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise PayloadInvalid("the body is not a JSON object")
    return document


def obj(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadInvalid(f"{name} is not an object")
    return value


def items(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PayloadInvalid(f"{name} is not a list of objects")
    if len(value) > SCANS_PER_BODY_MAX:
        raise PayloadInvalid(f"{name} holds more than {SCANS_PER_BODY_MAX} entries")
    return value


def text(value: Any) -> str | None:
    """A non-empty stripped string, or None."""
    if value is None:
        return None
    result = str(value).strip()
    return result or None


def required(value: Any, name: str) -> str:
    result = text(value)
    if result is None:
        raise PayloadInvalid(f"{name} is missing")
    return result


def instant(value: Any, name: str) -> datetime:
    """An ISO 8601 time; one without an offset is read as UTC (some providers omit it)."""
    raw = required(value, name)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadInvalid(f"{name} is not an ISO 8601 time: {raw!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_instant(value: Any, name: str) -> datetime | None:
    return None if text(value) is None else instant(value, name)


def place(*parts: Any) -> str | None:
    """Join the non-empty parts of a location: "AUSTIN, TX, US"."""
    joined = ", ".join(p for p in (text(part) for part in parts) if p)
    return joined or None
