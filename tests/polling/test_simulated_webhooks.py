"""The simulator's webhooks: every provider's body is read by Ordertrail's parser, its signature
verifies, and every simulated scan maps to a known canonical status."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ordertrail.adapters.carriers.mapping_tables import load_tables
from ordertrail.adapters.carriers.signing import sign, verify
from ordertrail.adapters.carriers.simulator.scenario import (
    STAGE_STATUSES,
    WEBHOOK_PROVIDERS,
    build_scenario,
)
from ordertrail.adapters.carriers.simulator.webhooks import WebhookSender, WebhookTarget
from ordertrail.adapters.carriers.webhooks import PARSERS
from ordertrail.adapters.clock import FixedClock
from ordertrail.domain.shipments.mapping import map_scan

START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
LATER = START + timedelta(days=10)


@pytest.mark.parametrize("provider", WEBHOOK_PROVIDERS)
def test_each_providers_webhook_parses_verifies_and_maps(provider):
    scenario = build_scenario(seed=9, start=START, parcels_per_provider=3, providers=[provider])
    target = WebhookTarget(provider=provider, url="http://ordertrail/hook", secret="s3cret")
    sender = WebhookSender(
        scenario=scenario, targets={provider: target}, clock=FixedClock(LATER), duplicate_share=0
    )
    tables = load_tables()
    deliveries = sender.due()
    assert deliveries
    stages_seen = set()
    for _, raw in deliveries:
        signed = sign(provider=provider, secret="s3cret", body=raw, now=LATER)
        headers = {name.lower(): value for name, value in signed.items()}
        verify(provider=provider, secret="s3cret", body=raw, headers=headers, now=LATER)
        for scan in PARSERS[provider](raw):
            mapped = map_scan(tables=tables, scan=scan)
            assert mapped.mapped, (provider, scan.raw_code, scan.raw_subcode)
            stages_seen.add(str(mapped.status))
    assert "delivered" in stages_seen
    assert stages_seen <= set(STAGE_STATUSES.values()) | {"pre_transit"}
    # Nothing new is visible a second time round.
    assert sender.due() == []


def test_the_sender_signs_and_posts_and_counts_the_answers():
    scenario = build_scenario(seed=2, start=START, parcels_per_provider=2, providers=["aftership"])
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202)

    target = WebhookTarget(provider="aftership", url="http://ordertrail/v1/hook", secret="k")
    sender = WebhookSender(
        scenario=scenario, targets={"aftership": target}, clock=FixedClock(LATER)
    )

    async def run() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await sender.send_due(http)

    sent = asyncio.run(run())
    assert sent == len(received) >= 2
    assert sender.outcomes == {202: sent}
    body = json.loads(received[0].content)
    assert body["msg"]["tracking_number"] in {n for _, n in scenario.parcels}
    assert "aftership-hmac-sha256" in {name.lower() for name in received[0].headers}
