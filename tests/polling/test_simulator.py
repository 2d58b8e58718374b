"""The carrier simulator: reproducible journeys, documented shapes, enforced and counted limits,
and a long polling run against it that never sends a request over any limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from ordertrail.adapters.carriers.poll_dhl import parse_shipments
from ordertrail.adapters.carriers.poll_ups import parse_track_response
from ordertrail.adapters.carriers.poll_usps import parse_tracking
from ordertrail.adapters.carriers.simulator.app import CarrierSimulator, create_simulator_app
from ordertrail.adapters.carriers.simulator.responses import body_for
from ordertrail.adapters.carriers.simulator.scenario import Faults, build_scenario
from ordertrail.adapters.carriers.simulator.virtual_run import VirtualClock, run_virtual
from ordertrail.services.poll_policy import Cadence
from ordertrail.services.polling_budget import QuotaWindow

START = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
PARSERS = {"ups": parse_track_response, "dhl": parse_shipments, "usps": parse_tracking}
# Limits small enough that a few hours of polling 60 parcels presses against every one of them.
LIMITS = {
    "ups": (QuotaWindow("second", 1, 2), QuotaWindow("minute", 60, 10)),
    "dhl": (QuotaWindow("second", 1, 1), QuotaWindow("day", 86_400, 250)),
    "usps": (QuotaWindow("hour", 3_600, 60),),
}
FAST = Cadence(intervals_s={"urgent": 300, "moving": 900, "waiting": 1800})


def test_the_same_seed_gives_the_same_parcels_scans_and_faults():
    first = build_scenario(seed=7, start=START, parcels_per_provider=5)
    again = build_scenario(seed=7, start=START, parcels_per_provider=5)
    other = build_scenario(seed=8, start=START, parcels_per_provider=5)
    assert first.parcels == again.parcels
    assert first.parcels != other.parcels
    assert len(first.of("dhl")) == 5


def test_faults_show_duplicates_late_and_missing_scans():
    faults = Faults(duplicate_share=0.5, missing_share=0.3, lag_s_max=3600, stalled_share=0.0)
    scenario = build_scenario(seed=3, start=START, parcels_per_provider=10, faults=faults)
    parcels = list(scenario.parcels.values())
    assert any(len(p.scans) != len(set(p.scans)) for p in parcels)  # duplicates
    assert any(s.visible_at > s.at for p in parcels for s in p.scans)  # reported late
    assert all(p.scans[-1].stage == "delivered" for p in parcels)  # the final scan is kept
    assert any(len({s.stage for s in p.scans}) < 5 for p in parcels)  # some stages missing


def test_every_simulated_response_is_read_by_its_provider_client():
    scenario = build_scenario(seed=11, start=START, parcels_per_provider=4)
    later = START + timedelta(days=10)
    for (provider, number), parcel in scenario.parcels.items():
        scans = PARSERS[provider](body_for(parcel, now=later, shuffle=None), tracking_number=number)
        assert len(scans) == len(parcel.scans)
        assert [s.scanned_at for s in scans] == sorted(s.at for s in parcel.scans)
        assert {s.provider for s in scans} == {provider}


def test_the_simulator_answers_429_with_retry_after_and_counts_every_request():
    scenario = build_scenario(seed=1, start=START, parcels_per_provider=1, providers=["dhl"])
    number = scenario.of("dhl")[0].tracking_number
    clock = VirtualClock(START + timedelta(days=10))
    simulator = CarrierSimulator(
        scenario=scenario, clock=clock, limits={"dhl": (QuotaWindow("minute", 60, 2),)}
    )

    async def scenario_run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_simulator_app(simulator))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            answers = []
            for _ in range(3):
                answers.append(
                    await http.get(
                        "/track/shipments",
                        params={"trackingNumber": number},
                        headers={"DHL-API-Key": "k"},
                    )
                )
                await clock.sleep(10)
            answers.append(await http.get("/track/shipments", params={"trackingNumber": "x"}))
            return answers

    ok, ok_again, throttled, unauthorized = asyncio.run(scenario_run())
    assert (ok.status_code, ok_again.status_code, throttled.status_code) == (200, 200, 429)
    assert throttled.headers["Retry-After"] == "40"  # the first request leaves the window at 60 s
    assert unauthorized.status_code == 401
    stats = simulator.stats()["dhl"]
    assert (stats["requests"], stats["ok"], stats["throttled"]) == (4, 2, 1)
    assert stats["windows"]["minute"] == {"limit": 2, "max_seen": 3}


def test_a_long_polling_run_never_sends_a_request_over_any_limit():
    faults = Faults(scan_gap_minutes=(10, 60))
    scenario = build_scenario(seed=42, start=START, parcels_per_provider=15, faults=faults)
    figures = asyncio.run(
        run_virtual(
            scenario=scenario,
            start=START,
            duration_s=8 * 3600,
            simulator_limits=LIMITS,
            poller_limits=LIMITS,
            cadence=FAST,
        )
    )
    assert figures.virtual_s >= 8 * 3600 - 1
    for provider, provider_figures in figures.providers.items():
        assert provider_figures.throttled == 0, provider
        for label, (limit, max_seen) in provider_figures.windows.items():
            assert max_seen <= limit, (provider, label)
    # The run pressed against the limits (this is what makes it a test of them): DHL's 250 a
    # day, paced, allow 83 requests in 8 hours, and the poller sent nearly all of them.
    assert figures.providers["dhl"].requests >= 75
    assert figures.providers["dhl"].windows["second"] == (1, 1)
    assert figures.lost == 0
    assert figures.delivered > 0


def test_a_carrier_stricter_than_configured_throttles_and_every_retry_after_is_honoured():
    faults = Faults(scan_gap_minutes=(10, 60))
    scenario = build_scenario(
        seed=5, start=START, parcels_per_provider=8, providers=["dhl"], faults=faults
    )
    stricter = {"dhl": (QuotaWindow("second", 1, 1), QuotaWindow("minute", 60, 3))}
    believed = {"dhl": (QuotaWindow("second", 1, 1),)}
    figures = asyncio.run(
        run_virtual(
            scenario=scenario,
            start=START,
            duration_s=2 * 3600,
            simulator_limits=stricter,
            poller_limits=believed,
            cadence=FAST,
        )
    )
    assert figures.throttled > 0
    assert figures.honoured_retry_after
    assert figures.lost == 0
    assert figures.providers["dhl"].requests > figures.throttled
