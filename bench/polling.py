"""Figures for docs/decisions/polling-vs-rate-limits.md: quota capacity and a measured run.

    .venv/bin/python -m bench.polling

Part 1 computes, with the budget code, how many active shipments each documented quota supports
at the default cadence. Part 2 polls simulated UPS, DHL and USPS parcels for a virtual day through
the real clients and rate limiters, and reports what the simulator counted: requests, 429s and
the most requests any window held against its limit. Part 3 repeats a run against a carrier
stricter than configured, to show the 429 handling.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from ordertrail.adapters.carriers.rate_limits import DOCUMENTED_LIMITS, documented_quota
from ordertrail.adapters.carriers.simulator.scenario import Faults, build_scenario
from ordertrail.adapters.carriers.simulator.virtual_run import RunFigures, run_virtual
from ordertrail.services.poll_policy import TIERS, Cadence
from ordertrail.services.polling_budget import QuotaWindow, shipments_supported

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
PLANS = {"ups": "default", "dhl": "starter", "usps": "default"}


def capacity() -> None:
    cadence = Cadence()
    print(
        "| provider | plan | windows | polls/shipment/day (reference mix) | shipments supported |"
    )
    print("|---|---|---|---|---|")
    for provider, plans in DOCUMENTED_LIMITS.items():
        for plan, windows in plans.items():
            quota = documented_quota(provider=provider, plan=plan, credential="c")
            supported = shipments_supported(quota=quota, cadence=cadence)
            shown = ", ".join(f"{w.requests:,}/{w.label}" for w in windows)
            if quota.numbers_per_request > 1:
                shown += f" ({quota.numbers_per_request} numbers/request)"
            print(f"| {provider} | {plan} | {shown} | 9.4 | {supported:,} |")
    for tier in TIERS:
        print(f"cadence {tier}: every {cadence.intervals_s[tier]:,} s")


def report(title: str, figures: RunFigures, wall_s: float) -> None:
    print(f"\n{title}: {figures.virtual_s / 3600:.0f} virtual hours in {wall_s:.1f} s of wall time")
    print(
        f"trackers {figures.trackers}, delivered {figures.delivered}, lost {figures.lost}, ", end=""
    )
    print(f"every Retry-After honoured: {figures.honoured_retry_after}")
    print("| provider | requests | 429s | window | limit | most in any window |")
    print("|---|---|---|---|---|---|")
    for provider, entry in sorted(figures.providers.items()):
        for label, (limit, seen) in entry.windows.items():
            counts = f"{entry.requests} | {entry.throttled}"
            print(f"| {provider} | {counts} | {label} | {limit} | {seen} |")


def measured() -> None:
    limits = {provider: DOCUMENTED_LIMITS[provider][plan] for provider, plan in PLANS.items()}
    scenario = build_scenario(seed=2026, start=START, parcels_per_provider=40, faults=Faults())
    began = time.perf_counter()
    figures = asyncio.run(
        run_virtual(
            scenario=scenario,
            start=START,
            duration_s=48 * 3600,
            simulator_limits=limits,
            poller_limits=limits,
        )
    )
    report("Documented limits, default cadence", figures, time.perf_counter() - began)

    stricter = {"dhl": (QuotaWindow("second", 1, 1), QuotaWindow("hour", 3600, 5))}
    believed = {"dhl": (QuotaWindow("second", 1, 1),)}
    scenario = build_scenario(seed=7, start=START, parcels_per_provider=30, providers=["dhl"])
    began = time.perf_counter()
    figures = asyncio.run(
        run_virtual(
            scenario=scenario,
            start=START,
            duration_s=12 * 3600,
            simulator_limits=stricter,
            poller_limits=believed,
            cadence=Cadence(intervals_s={"urgent": 600, "moving": 1800, "waiting": 3600}),
        )
    )
    report(
        "A DHL stricter than configured (5/hour unknown to Ordertrail)",
        figures,
        time.perf_counter() - began,
    )


if __name__ == "__main__":
    capacity()
    measured()
