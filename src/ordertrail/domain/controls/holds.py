"""Holds: a flag on an order, a line or an obligation that blocks recognition until released.

A hold names its scope by the order and, optionally, one line or one obligation of the order's
contract. Obligation ids are unique within a contract only, so an obligation hold also carries
the contract id (filled in by the service from the order's contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

HoldSource = Literal["manual", "dispute", "missing_pod", "credit", "rule"]
HOLD_SOURCES: tuple[str, ...] = get_args(HoldSource)
REASON_CODE_MAX = 64

DUAL_APPROVAL_REASONS: frozenset[str] = frozenset({"fraud_review", "legal"})
"""Reason codes whose release needs an approved `hold.release` request (two people)."""


class HoldError(Exception):
    """A hold operation could not be done."""


class HoldNotFound(HoldError):
    pass


class HoldAlreadyReleased(HoldError):
    pass


class HoldNeedsApproval(HoldError):
    """The hold's reason requires an approved `hold.release` request to release it."""


class InvalidHold(HoldError):
    pass


@dataclass(frozen=True, slots=True)
class Hold:
    """One hold, open until `released_at` is set."""

    hold_id: str
    order_id: str
    reason_code: str
    source: str
    placed_by: str
    placed_at: datetime
    line_id: str | None = None
    obligation_id: str | None = None
    contract_id: str | None = None
    source_ref: str | None = None
    released_by: str | None = None
    released_at: datetime | None = None
    approval_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.released_at is None

    @property
    def scope(self) -> str:
        if self.obligation_id is not None:
            return "obligation"
        return "line" if self.line_id is not None else "order"

    @property
    def needs_dual_approval(self) -> bool:
        return self.reason_code in DUAL_APPROVAL_REASONS


def check_new_hold(
    *, source: str, reason_code: str, line_id: str | None, obligation_id: str | None
) -> None:
    """Refuse a hold that names an unknown source, an empty reason or two scopes at once."""
    if source not in HOLD_SOURCES:
        raise InvalidHold(f"hold source must be one of {', '.join(HOLD_SOURCES)}, not {source!r}")
    if not reason_code or len(reason_code) > REASON_CODE_MAX:
        raise InvalidHold(f"a reason code of 1 to {REASON_CODE_MAX} characters is required")
    if line_id is not None and obligation_id is not None:
        raise InvalidHold(
            "a hold is on an order, a line or an obligation, not a line and an obligation"
        )


AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-30", 8, 30),
    ("31-90", 31, 90),
    (">90", 91, None),
)
"""Hold-aging buckets in whole days since the hold was placed: (label, first day, last day)."""


def aging_bucket(*, placed_at: datetime, now: datetime) -> str:
    """The aging bucket a hold placed at `placed_at` falls in at `now`."""
    days = max((now - placed_at).days, 0)
    for label, first, last in AGING_BUCKETS:
        if days >= first and (last is None or days <= last):
            return label
    raise HoldError(f"no aging bucket for {days} days")  # unreachable: the last is open-ended
