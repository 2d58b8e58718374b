"""Does the configured cadence fit each carrier quota? Requests needed per window versus quota.

The cadence sets how many polls per day each tracker costs (by its status's tier); the number of
active shipments by status sets how many trackers there are. Their product, spread evenly over a
day (the rate limiter paces requests, it does not burst), gives the requests each quota window
must hold. When a window is too small, the budget names the least urgent tier whose slowing down
alone would make everything fit, and the interval it would need.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ordertrail.services.poll_policy import MOVING, TIERS, URGENT, WAITING, Cadence, tier_of

DAY_S = 86_400
# The status mix assumed when there are no shipments yet to measure it from: most active parcels
# are moving, some wait for pickup, a few are out for delivery on any one day.
REFERENCE_MIX: Mapping[str, float] = {WAITING: 0.2, MOVING: 0.7, URGENT: 0.1}
# Tiers in the order the budget offers to slow them down: the least urgent first.
SLOW_DOWN_ORDER = (WAITING, MOVING, URGENT)


@dataclass(frozen=True, slots=True)
class QuotaWindow:
    """A provider's limit: at most `requests` in any `window_s` seconds."""

    label: str  # "second", "10s", "day", ...
    window_s: int
    requests: int

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.requests <= 0:
            raise ValueError("a quota window needs a positive length and request count")


@dataclass(frozen=True, slots=True)
class CredentialQuota:
    provider: str
    credential: str
    windows: tuple[QuotaWindow, ...]
    # Tracking numbers one request can carry (17TRACK: 40); the pollers here send one.
    numbers_per_request: int = 1


@dataclass(frozen=True, slots=True)
class WindowBudget:
    provider: str
    credential: str
    window: QuotaWindow
    needed: int
    headroom: int
    fits: bool
    # When it does not fit: the tier to slow down and its smallest interval that fits, or None
    # when slowing no single tier is enough (more quota or fewer shipments are needed).
    slow_tier: str | None = None
    slow_interval_s: int | None = None


def trackers_by_tier(counts_by_status: Mapping[str, int]) -> dict[str, int]:
    """Active shipments per polling tier (terminal ones cost nothing and are left out)."""
    tiers = dict.fromkeys(TIERS, 0)
    for status, count in counts_by_status.items():
        tier = tier_of(status)
        if tier in tiers:
            tiers[tier] += count
    return tiers


def _requests_per_s(*, trackers: Mapping[str, int], cadence: Cadence, per_request: int) -> float:
    polls_per_day = sum(trackers[tier] * cadence.polls_per_day(tier) for tier in TIERS)
    return polls_per_day / per_request / DAY_S


def budget_window(
    *, quota: CredentialQuota, window: QuotaWindow, trackers: Mapping[str, int], cadence: Cadence
) -> WindowBudget:
    """Requests `window` must hold at this cadence, and what to slow down if it cannot."""
    per_request = quota.numbers_per_request
    rate = _requests_per_s(trackers=trackers, cadence=cadence, per_request=per_request)
    needed = math.ceil(rate * window.window_s)
    fits = needed <= window.requests
    slow_tier = slow_interval_s = None
    if not fits:
        for tier in SLOW_DOWN_ORDER:
            if trackers[tier] == 0:
                continue
            others = dict(trackers) | {tier: 0}
            other_rate = _requests_per_s(trackers=others, cadence=cadence, per_request=per_request)
            spare_per_s = window.requests / window.window_s - other_rate
            if spare_per_s <= 0:
                continue
            # trackers / per_request / interval <= spare  <=>  interval >= trackers / (...)
            slow_tier = tier
            slow_interval_s = math.ceil(trackers[tier] / per_request / spare_per_s)
            break
    return WindowBudget(
        provider=quota.provider,
        credential=quota.credential,
        window=window,
        needed=needed,
        headroom=window.requests - needed,
        fits=fits,
        slow_tier=slow_tier,
        slow_interval_s=slow_interval_s,
    )


def budget(
    *,
    quotas: Sequence[CredentialQuota],
    counts: Mapping[tuple[str, str], Mapping[str, int]],
    cadence: Cadence,
) -> list[WindowBudget]:
    """One line per provider, credential and quota window.

    `counts` holds the active shipments by status that each (provider, credential) polls.
    """
    lines = []
    for quota in quotas:
        trackers = trackers_by_tier(counts.get((quota.provider, quota.credential), {}))
        for window in quota.windows:
            lines.append(
                budget_window(quota=quota, window=window, trackers=trackers, cadence=cadence)
            )
    return lines


def shipments_supported(
    *, quota: CredentialQuota, cadence: Cadence, mix: Mapping[str, float] = REFERENCE_MIX
) -> int:
    """How many active shipments (in the given status mix) the tightest window allows."""
    polls_per_shipment_day = sum(mix.get(tier, 0.0) * cadence.polls_per_day(tier) for tier in TIERS)
    if polls_per_shipment_day <= 0:
        raise ValueError("the mix has no shipment that is ever polled")
    per_window = [
        window.requests * quota.numbers_per_request * DAY_S / window.window_s
        for window in quota.windows
    ]
    return math.floor(min(per_window) / polls_per_shipment_day)


def mix_of(trackers: Mapping[str, int]) -> dict[str, float]:
    """The share of each tier among active trackers; the reference mix when there are none."""
    total = sum(trackers.values())
    if total == 0:
        return dict(REFERENCE_MIX)
    return {tier: trackers.get(tier, 0) / total for tier in TIERS}
