"""The polling round: 429s back off and lose no tracker, errors back off, scans are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordertrail.adapters.carriers.rate_limits import CredentialLimiter, documented_quota
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services.poll_policy import Backoff, Cadence
from ordertrail.services.polling import Poller, PollerConfig
from ordertrail.services.polling_budget import CredentialQuota, QuotaWindow
from ordertrail.services.polling_ports import (
    CarrierUnavailable,
    Throttled,
    Tracker,
    TrackingNotFound,
)
from tests.polling.fakes import MemoryPollStore, Recorder, ScriptedClient, VirtualTime, run_async

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _tracker(number: str, *, status: str = "in_transit", at: datetime = T0) -> Tracker:
    return Tracker(
        tenant_id="acme",
        carrier="dhl",
        tracking_number=number,
        provider="dhl",
        credential="main",
        status=status,
        next_poll_at=at,
    )


def _scan(number: str, code: str = "transit") -> CarrierScan:
    return CarrierScan(
        provider="dhl",
        tracking_number=number,
        carrier="dhl",
        raw_code=code,
        raw_text=code,
        scanned_at=T0 - timedelta(hours=1),
    )


def _poller(store, client, time, recorder, *, quota_plan="standard", random=lambda: 0.5, **config):
    limiter = CredentialLimiter(
        quota=documented_quota(provider="dhl", plan=quota_plan, credential="main"), now=time.now()
    )
    return (
        Poller(
            store=store,
            client_for=lambda provider, credential: client if provider == "dhl" else None,
            limiter_for=lambda provider, credential: limiter if credential == "main" else None,
            record=recorder.record,
            clock=time.clock,
            sleep=time.sleep,
            random=random,
            config=PollerConfig(**config),
            observer=recorder,
        ),
        limiter,
    )


@run_async
async def test_a_429_with_retry_after_backs_off_and_loses_no_tracker():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    numbers = ["JD1", "JD2", "JD3"]
    for number in numbers:
        store.add(_tracker(number))
    retry_at = T0 + timedelta(seconds=120)
    client = ScriptedClient(
        provider="dhl",
        clock=time,
        script={"JD1": [Throttled("429", retry_at=retry_at), [_scan("JD1")]]},
    )
    poller, limiter = _poller(store, client, time, recorder)

    first = await poller.poll_round()

    assert (first.throttled, first.deferred, first.polled) == (1, 2, 0)
    throttled = store.trackers[("acme", "dhl", "JD1")]
    assert throttled.attempts == 1
    assert throttled.last_error.startswith("throttled")
    assert throttled.next_poll_at >= retry_at
    for number in ("JD2", "JD3"):  # not polled, still scheduled, right after the pause
        kept = store.trackers[("acme", "dhl", number)]
        assert kept.next_poll_at == retry_at
        assert kept.attempts == 0
    assert limiter.try_acquire(now=T0 + timedelta(seconds=119)) > 0
    assert recorder.throttles == ["dhl"]

    # Later rounds poll every tracker (paced: 1,000 a day is one per 86.4 s); the throttled one
    # comes back after its backoff, none before the carrier's retry time.
    for _ in range(12):
        await time.sleep(60)
        await poller.poll_round()
    polled = [number for _, number in client.calls]
    assert sorted(set(polled)) == numbers
    assert all(at >= retry_at for at, _ in client.calls[1:])
    assert all(t.next_poll_at is not None and t.attempts == 0 for t in store.trackers.values())
    assert [scans[0].tracking_number for _, scans, _ in recorder.recorded] == ["JD1"]


@run_async
async def test_a_429_without_retry_time_pauses_for_the_initial_backoff():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    store.add(_tracker("JD1"))
    client = ScriptedClient(provider="dhl", script={"JD1": [Throttled("429", retry_at=None)]})
    poller, limiter = _poller(store, client, time, recorder, backoff=Backoff(initial_s=60))
    await poller.poll_round()
    tracker = store.trackers[("acme", "dhl", "JD1")]
    assert T0 + timedelta(seconds=30) <= tracker.next_poll_at <= T0 + timedelta(seconds=60)
    assert limiter.try_acquire(now=T0 + timedelta(seconds=59)) > 0


@run_async
async def test_errors_back_off_exponentially_and_never_drop_the_tracker():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    store.add(_tracker("JD1"))
    failures = [CarrierUnavailable("HTTP 503") for _ in range(4)]
    client = ScriptedClient(provider="dhl", script={"JD1": failures})
    poller, _ = _poller(store, client, time, recorder, random=lambda: 1.0)
    delays = []
    for _ in range(4):
        await poller.poll_round()
        result = store.saved[-1]
        delays.append((result.next_poll_at - result.polled_at).total_seconds())
        await time.sleep(delays[-1])
    tracker = store.trackers[("acme", "dhl", "JD1")]
    assert delays == [60, 120, 240, 480]
    assert tracker.attempts == 4
    assert tracker.last_error == "error: HTTP 503"


@run_async
async def test_an_unknown_number_waits_at_least_its_cadence():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    store.add(_tracker("JD1", status="pre_transit"))
    client = ScriptedClient(provider="dhl", script={"JD1": [TrackingNotFound("404")]})
    poller, _ = _poller(store, client, time, recorder)
    report = await poller.poll_round()
    assert report.not_found == 1
    tracker = store.trackers[("acme", "dhl", "JD1")]
    assert tracker.next_poll_at == T0 + timedelta(hours=12)


@run_async
async def test_scans_are_recorded_and_the_tracker_follows_its_new_status():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    store.add(_tracker("JD1", status="in_transit"))
    store.add(_tracker("JD2", status="in_transit"))
    store.statuses[("acme", "dhl", "JD1")] = "out_for_delivery"
    store.statuses[("acme", "dhl", "JD2")] = "delivered"
    client = ScriptedClient(
        provider="dhl", script={"JD1": [[_scan("JD1")]], "JD2": [[_scan("JD2", "delivered")]]}
    )
    poller, _ = _poller(store, client, time, recorder, cadence=Cadence(), wait_s_max=120)
    report = await poller.poll_round()
    assert (report.polled, report.scans) == (2, 2)
    first, second = store.trackers[("acme", "dhl", "JD1")], store.trackers[("acme", "dhl", "JD2")]
    # Out for delivery: polled again in 30 min. (The second poll waited 86.4 s for its token:
    # the standard plan's 1,000 a day, paced evenly.)
    assert first.next_poll_at - T0 == timedelta(minutes=30)
    assert time.slept_s == pytest.approx(86.4, abs=0.001)  # plus the jitter margin
    assert second.next_poll_at is None  # delivered: never polled again
    assert recorder.requests == [("dhl", "ok"), ("dhl", "ok")]
    assert recorder.quotas[-1]["day"] == 998


@run_async
async def test_a_spent_daily_quota_defers_the_rest_to_when_a_token_comes():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    for index in range(5):
        store.add(_tracker(f"JD{index}"))
    client = ScriptedClient(provider="dhl")
    poller, _limiter = _poller(store, client, time, recorder, quota_plan="starter", wait_s_max=10)
    report = await poller.poll_round()
    # Starter: 1/s and 250/day paced evenly, so one request per 345.6 s; the rest wait.
    assert (report.polled, report.deferred) == (1, 4)
    waiting = [t for t in store.trackers.values() if t.tracking_number != "JD0"]
    assert all(t.next_poll_at > T0 and t.attempts == 0 for t in waiting)


@run_async
async def test_a_credential_missing_from_the_configuration_is_reported_on_its_trackers():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    store.add(Tracker("acme", "dhl", "JD9", "dhl", "gone", "in_transit", T0))
    poller, _ = _poller(store, ScriptedClient(provider="dhl"), time, recorder)
    report = await poller.poll_round()
    tracker = store.trackers[("acme", "dhl", "JD9")]
    assert report.errors == 1
    assert "credential 'gone'" in tracker.last_error
    assert tracker.next_poll_at > T0


def test_the_poller_configuration_is_bounded():
    with pytest.raises(ValueError, match="batch size"):
        PollerConfig(batch_size=0)


@run_async
async def test_an_unreadable_answer_is_kept_on_its_tracker_and_does_not_block_the_others():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    store.add(_tracker("JD1"))
    store.add(_tracker("JD2"))
    client = ScriptedClient(provider="dhl", script={"JD1": [KeyError("events")]})
    poller, _ = _poller(store, client, time, recorder, wait_s_max=120)
    report = await poller.poll_round()
    assert (report.errors, report.polled) == (1, 1)
    assert store.trackers[("acme", "dhl", "JD1")].last_error == "unexpected KeyError: 'events'"
    assert store.trackers[("acme", "dhl", "JD2")].attempts == 0


@run_async
async def test_a_failure_to_record_scans_is_raised_after_every_group_saved_its_work():
    time, store = VirtualTime(T0), MemoryPollStore()
    store.add(_tracker("JD1"))
    store.add(Tracker("acme", "ups", "1Z1", "ups", "main", "in_transit", T0))
    dhl = ScriptedClient(provider="dhl", script={"JD1": [[_scan("JD1")]]})
    ups = ScriptedClient(provider="ups")

    async def broken_record(tenant_id, scans, at):
        raise RuntimeError("database down")

    limiters = {
        provider: CredentialLimiter(
            quota=CredentialQuota(provider, "main", (QuotaWindow("second", 1, 10),)), now=T0
        )
        for provider in ("ups", "dhl")
    }
    poller = Poller(
        store=store,
        client_for=lambda provider, credential: dhl if provider == "dhl" else ups,
        limiter_for=lambda provider, credential: limiters[provider],
        record=broken_record,
        clock=time.clock,
        sleep=time.sleep,
        random=lambda: 0.5,
    )
    with pytest.raises(RuntimeError, match="database down"):
        await poller.poll_round()
    # The UPS tracker (no scans to record) was polled and saved despite the DHL failure.
    assert store.trackers[("acme", "ups", "1Z1")].next_poll_at > T0


@run_async
async def test_new_shipments_are_enrolled_now_and_then_not_every_round():
    time, store, recorder = VirtualTime(T0), MemoryPollStore(), Recorder()
    refreshes = []
    store.refresh = lambda *, now, cadence, limit: refreshes.append(now) or 0  # type: ignore[method-assign]
    poller, _ = _poller(store, ScriptedClient(provider="dhl"), time, recorder)
    for _ in range(4):
        await poller.poll_round()
        await time.sleep(25)
    assert refreshes == [T0, T0 + timedelta(seconds=75)]
