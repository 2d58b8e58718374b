"""Carrier quotas as data, and the token buckets that keep every credential inside them.

Each quota window ("at most L requests in any W seconds") gets its own token bucket; a request
goes out only when every window of its credential has a token. The buckets refill continuously
at (L + 1 - B) tokens per W, with B (the burst) tokens of capacity. Why that rate and not L/W
with capacity L, the usual choice: a full bucket of L refilling at L/W lets up to 2L - 1 requests
through in one window (a burst, then the refill), and carriers count windows, not averages. With
capacity B the most any half-open window [t, t + W) can take is the B tokens held at t plus
strictly less than (L + 1 - B) accrued before t + W, so at most L. Time and tokens are integers
(microseconds, and W units per token), so the bound holds exactly, with no float rounding at the
window's edge. The default burst of 1 paces requests evenly (W / L apart), which is also what
carriers ask for: DHL expects its daily calls "in an even way throughout the day".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from ordertrail.services.polling_budget import CredentialQuota, QuotaWindow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
SECOND_US = 1_000_000
# Each window is paced as if it were this much longer: a request leaves when the limiter says, but
# reaches the carrier a varying network delay later, so two requests paced exactly W / L apart can
# arrive closer together than that. A quarter second absorbs ordinary jitter; for a day window it
# costs nothing measurable, for a one-second window a fifth of its rate.
JITTER_MARGIN_S = 0.25


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


# Documented limits, per provider and plan. Each entry cites where the figure comes from; an
# operator overrides them per credential with what the carrier actually granted.
DOCUMENTED_LIMITS: Mapping[str, Mapping[str, tuple[QuotaWindow, ...]]] = MappingProxyType(
    {
        # developer.dhl.com, Shipment Tracking - Unified, "Rate limits": the initial (starter)
        # service level allows 250 calls per day with at most 1 call per second; standard 2/s and
        # 1,000/day; the daily quota resets at 00:00 GMT (DHL developer support knowledge base).
        "dhl": {
            "starter": (QuotaWindow("second", 1, 1), QuotaWindow("day", 86_400, 250)),
            "standard": (QuotaWindow("second", 1, 2), QuotaWindow("day", 86_400, 1_000)),
        },
        # FedEx Developer Portal, API rate limits: 1,400 transactions per 10 seconds and
        # 100,000 per day per project.
        "fedex": {"default": (QuotaWindow("10s", 10, 1_400), QuotaWindow("day", 86_400, 100_000))},
        # 17TRACK API v2: 3 requests per second; up to 40 tracking numbers per request.
        "17track": {"default": (QuotaWindow("second", 1, 3),)},
        # USPS developer portal (developers.usps.com): new applications get a default quota of
        # 60 requests per hour per API, raised on a service request.
        "usps": {"default": (QuotaWindow("hour", 3_600, 60),)},
        # UPS documents the 429 (error 10429 "Too Many Requests") and per-application throttling
        # but publishes no figure; this conservative start is to be replaced by the limits UPS
        # assigns the application.
        "ups": {"default": (QuotaWindow("second", 1, 5), QuotaWindow("day", 86_400, 25_000))},
    }
)
NUMBERS_PER_REQUEST: Mapping[str, int] = MappingProxyType({"17track": 40})


def documented_quota(*, provider: str, plan: str, credential: str) -> CredentialQuota:
    """The documented windows of a provider's plan, for one credential."""
    plans = DOCUMENTED_LIMITS.get(provider)
    if plans is None:
        raise ValueError(f"no documented limits for provider {provider!r}")
    if plan not in plans:
        raise ValueError(f"{provider} has no plan {plan!r} (known: {', '.join(plans)})")
    return CredentialQuota(
        provider=provider,
        credential=credential,
        windows=plans[plan],
        numbers_per_request=NUMBERS_PER_REQUEST.get(provider, 1),
    )


class TokenBucket:
    """One quota window: at most `limit` takes in any half-open `window_s` interval."""

    def __init__(
        self, *, window: QuotaWindow, burst: int = 1, now: datetime, margin_s: float = 0.0
    ) -> None:
        if not 1 <= burst <= window.requests:
            raise ValueError(f"the burst must be between 1 and the window's {window.requests}")
        if not 0 <= margin_s <= window.window_s:
            raise ValueError("the margin must be between 0 and the window's length")
        self.window = window
        # One token, in accrual units: the (margin-lengthened) window in microseconds.
        self._token_units = round((window.window_s + margin_s) * SECOND_US)
        self._calendar_us = window.window_s * SECOND_US
        self._accrual_per_us = window.requests + 1 - burst
        self._capacity_units = burst * self._token_units
        self._level_units = self._capacity_units
        self._last_us = _us(now)
        # A fixed-window count (windows aligned to the epoch, so days start at 00:00 UTC, as
        # DHL's do): what the quota-remaining gauge shows.
        self._count_window = self._last_us // self._calendar_us
        self._count = 0

    def _refill(self, now_us: int) -> None:
        if now_us > self._last_us:
            gained = (now_us - self._last_us) * self._accrual_per_us
            self._level_units = min(self._capacity_units, self._level_units + gained)
            self._last_us = now_us

    def wait_us(self, now_us: int) -> int:
        """Microseconds until a token is available (0: now)."""
        self._refill(now_us)
        missing = self._token_units - self._level_units
        if missing <= 0:
            return 0
        return -(-missing // self._accrual_per_us)

    def take(self, now_us: int) -> None:
        self._refill(now_us)
        if self._level_units < self._token_units:
            raise RuntimeError("take() without a token: call wait_us() first")
        self._level_units -= self._token_units
        window_index = now_us // self._calendar_us
        if window_index != self._count_window:
            self._count_window, self._count = window_index, 0
        self._count += 1

    def remaining(self, now_us: int) -> int:
        if now_us // self._calendar_us != self._count_window:
            return self.window.requests
        return max(0, self.window.requests - self._count)


@dataclass(frozen=True, slots=True)
class LimiterKey:
    provider: str
    credential: str


class CredentialLimiter:
    """All quota windows of one provider credential; implements services.polling.RateLimiter."""

    def __init__(
        self,
        *,
        quota: CredentialQuota,
        now: datetime,
        bursts: Mapping[str, int] | None = None,
        margin_s: float = JITTER_MARGIN_S,
    ) -> None:
        self.quota = quota
        self._buckets = [
            TokenBucket(
                window=window,
                burst=(bursts or {}).get(window.label, 1),
                now=now,
                margin_s=min(margin_s, window.window_s),
            )
            for window in quota.windows
        ]
        self._paused_until_us = 0

    def try_acquire(self, *, now: datetime) -> float:
        now_us = _us(now)
        waits = [self._paused_until_us - now_us]
        waits += [bucket.wait_us(now_us) for bucket in self._buckets]
        wait = max(waits)
        if wait > 0:
            return wait / SECOND_US
        for bucket in self._buckets:
            bucket.take(now_us)
        return 0.0

    def pause_until(self, *, until: datetime) -> None:
        self._paused_until_us = max(self._paused_until_us, _us(until))

    def remaining(self, *, now: datetime) -> dict[str, int]:
        now_us = _us(now)
        return {bucket.window.label: bucket.remaining(now_us) for bucket in self._buckets}


class LimiterRegistry:
    """One limiter per (provider, credential), made on first use and kept for the process."""

    def __init__(
        self,
        *,
        quotas: Mapping[LimiterKey, CredentialQuota],
        now: datetime,
        bursts: Mapping[LimiterKey, Mapping[str, int]] | None = None,
    ) -> None:
        self._quotas = dict(quotas)
        self._bursts = dict(bursts or {})
        self._limiters: dict[LimiterKey, CredentialLimiter] = {}
        self._created_at = now

    def limiter_for(self, provider: str, credential: str) -> CredentialLimiter | None:
        """The credential's limiter; None when no quota is configured for it."""
        key = LimiterKey(provider=provider, credential=credential)
        limiter = self._limiters.get(key)
        if limiter is None:
            quota = self._quotas.get(key)
            if quota is None:
                return None
            limiter = self._limiters[key] = CredentialLimiter(
                quota=quota, now=self._created_at, bursts=self._bursts.get(key)
            )
        return limiter

    def all(self) -> dict[LimiterKey, CredentialLimiter]:
        """Every configured credential's limiter (made now if not yet used)."""
        for key in self._quotas:
            self.limiter_for(key.provider, key.credential)
        return dict(self._limiters)
