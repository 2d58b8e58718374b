"""Opaque keyset cursors: the one encoding every paginated read model shares."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from ordertrail.services.ports import Page

Row = TypeVar("Row")

NOT_OURS = "the cursor is not one this API issued"


def encode_cursor(*parts: str) -> str:
    """Encode the sort key of the last row of a page as an opaque, URL-safe cursor."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[str]:
    """Decode an opaque cursor, or raise ValueError with a sentence a client can act on."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ValueError(NOT_OURS) from None
    if (
        not isinstance(parts, list)
        or len(parts) != arity
        or not all(isinstance(p, str) for p in parts)
    ):
        raise ValueError(NOT_OURS)
    return parts


def cursor_time(text: str) -> datetime:
    """Parse the timestamp part of a cursor; it must carry a time zone, as the ones we issue do."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(NOT_OURS) from None
    if value.tzinfo is None:
        raise ValueError(NOT_OURS)
    return value.astimezone(UTC)


def page_of(
    *,
    rows: Sequence[Row],
    limit: int,
    items: list[dict[str, Any]],
    sort_key: Callable[[Row], tuple[str, ...]],
) -> Page:
    """Build a page from up to `limit + 1` rows read in page order and the first `limit` as items.

    The extra row only says that more follow; the cursor points after the last row shown.
    """
    if len(rows) <= limit:
        return Page(items=items, next_cursor=None)
    return Page(items=items, next_cursor=encode_cursor(*sort_key(rows[limit - 1])))
