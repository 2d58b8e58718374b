"""`ordertrail carriers`: poll carrier tracking APIs, check the quota budget, run the simulator."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from rich.table import Table

from ordertrail.adapters.carriers.poll_config import PollingConfigInvalid
from ordertrail.adapters.carriers.rate_limits import DOCUMENTED_LIMITS
from ordertrail.adapters.carriers.simulator.app import CarrierSimulator, create_simulator_app
from ordertrail.adapters.carriers.simulator.scenario import (
    POLLED_PROVIDERS,
    PROVIDERS,
    Faults,
    build_scenario,
)
from ordertrail.adapters.carriers.simulator.webhooks import WebhookSender, WebhookTarget
from ordertrail.adapters.clock import SystemClock
from ordertrail.entrypoints.cli import carrier_mappings
from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.entrypoints.cli.relay import MaxSecondsOption, configure_logging, stop_on_signals
from ordertrail.entrypoints.workers.poller import (
    PollingNotConfigured,
    poll_store,
    polling_config_of,
    run_poller,
)
from ordertrail.services.polling_budget import QuotaWindow, budget, mix_of, shipments_supported
from ordertrail.services.polling_budget import trackers_by_tier as tiers_of

app = typer.Typer(
    help="Carrier tracking: polling within quotas, the quota budget, the carrier simulator.",
    no_args_is_help=True,
)
app.add_typer(carrier_mappings.app, name="mappings")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="The polling file. Default: $ORDERTRAIL_CARRIER_POLLING.",
        show_default=False,
    ),
]


@app.command("poll")
def poll(
    once: Annotated[bool, typer.Option("--once", help="Stop when nothing is due.")] = False,
    max_seconds: MaxSecondsOption = None,
    config: ConfigOption = None,
    database: DatabaseOption = None,
) -> None:
    """Poll the carriers' tracking APIs for due shipments, within every credential's quota."""
    ordertrail = open_app(database)
    configure_logging()
    try:
        polling = polling_config_of(ordertrail, path=None if config is None else str(config))

        async def main() -> Any:
            stop = asyncio.Event()
            stop_on_signals(stop)
            return await run_poller(
                app=ordertrail, config=polling, stop=stop, once=once, max_seconds=max_seconds
            )

        report = asyncio.run(main())
    except (PollingNotConfigured, PollingConfigInvalid) as error:
        raise fail(str(error), code=2) from None
    finally:
        ordertrail.close()
    console.print(
        f"polled {report.polled} ({report.scans} scans), {report.throttled} throttled, "
        f"{report.not_found} not found, {report.errors} errors, {report.deferred} deferred"
    )


def _budget_rows(ordertrail: Any, polling: Any) -> list[dict[str, Any]]:
    store = poll_store(ordertrail, polling)
    counts = store.active_counts()
    quotas = [credential.quota for credential in polling.credentials]
    rows = []
    for line in budget(quotas=quotas, counts=counts, cadence=polling.cadence):
        key = (line.provider, line.credential)
        trackers = tiers_of(counts.get(key, {}))
        quota = next(q for q in quotas if (q.provider, q.credential) == key)
        single = type(quota)(quota.provider, quota.credential, (line.window,))
        rows.append(
            {
                "provider": line.provider,
                "credential": line.credential,
                "window": line.window.label,
                "window_s": line.window.window_s,
                "quota": line.window.requests,
                "needed": line.needed,
                "headroom": line.headroom,
                "fits": line.fits,
                "slow_down_tier": line.slow_tier,
                "slow_down_to_interval_s": line.slow_interval_s,
                "active_by_tier": trackers,
                "shipments_supported": shipments_supported(
                    quota=single, cadence=polling.cadence, mix=mix_of(trackers)
                ),
            }
        )
    return rows


@app.command("budget")
def budget_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
    database: DatabaseOption = None,
) -> None:
    """Does the cadence fit each quota for today's active shipments? Per provider and window."""
    ordertrail = open_app(database)
    try:
        polling = polling_config_of(ordertrail, path=None if config is None else str(config))
        rows = _budget_rows(ordertrail, polling)
    except (PollingNotConfigured, PollingConfigInvalid) as error:
        raise fail(str(error), code=2) from None
    finally:
        ordertrail.close()
    if as_json:
        cadence = dict(polling.cadence.intervals_s)
        console.print_json(json.dumps({"cadence_s": cadence, "windows": rows}))
        return
    table = Table(
        title="Polling budget: requests needed per quota window at the configured cadence"
    )
    for column in ("provider", "credential", "active u/m/w", "window", "quota", "needed"):
        table.add_column(column, justify="right" if column in ("quota", "needed") else "left")
    table.add_column("headroom", justify="right")
    table.add_column("fits")
    table.add_column("supports", justify="right")
    table.add_column("slow down")
    for row in rows:
        tiers = row["active_by_tier"]
        slow = "-"
        if not row["fits"]:
            slow = (
                f"{row['slow_down_tier']} to >= {row['slow_down_to_interval_s']} s"
                if row["slow_down_tier"]
                else "no single tier: more quota needed"
            )
        table.add_row(
            row["provider"],
            row["credential"],
            f"{tiers['urgent']}/{tiers['moving']}/{tiers['waiting']}",
            row["window"],
            f"{row['quota']:,}",
            f"{row['needed']:,}",
            f"{row['headroom']:,}",
            "[green]yes[/]" if row["fits"] else "[bold red]no[/]",
            f"{row['shipments_supported']:,}",
            slow,
        )
    console.print(table)
    intervals = ", ".join(f"{tier} {s:,} s" for tier, s in polling.cadence.intervals_s.items())
    console.print(f"cadence: {intervals}. 'supports': active shipments the window allows.")


def _limit(value: str) -> tuple[str, QuotaWindow]:
    """provider=label:window_s:requests, e.g. dhl=day:86400:250."""
    provider, _, spec = value.partition("=")
    label, window_s, requests = spec.split(":")
    return provider, QuotaWindow(label, int(window_s), int(requests))


def _simulator_limits(values: list[str]) -> dict[str, tuple[QuotaWindow, ...]]:
    if not values:
        plans = {"ups": "default", "dhl": "starter", "usps": "default"}
        return {provider: DOCUMENTED_LIMITS[provider][plan] for provider, plan in plans.items()}
    limits: dict[str, tuple[QuotaWindow, ...]] = {}
    for value in values:
        provider, window = _limit(value)
        limits[provider] = (*limits.get(provider, ()), window)
    return limits


def _targets(values: list[str]) -> dict[str, WebhookTarget]:
    """provider=URL,SECRET for each webhook provider to send to."""
    targets = {}
    for value in values:
        provider, _, rest = value.partition("=")
        url, _, secret = rest.rpartition(",")
        if provider not in PROVIDERS or not url or not secret:
            raise typer.BadParameter(f"{value!r}: write provider=URL,SECRET")
        targets[provider] = WebhookTarget(provider=provider, url=url, secret=secret)
    return targets


def _numbers(path: Path | None) -> list[tuple[str, str, str]]:
    """Lines of provider,tracking_number[,carrier]: the parcels to simulate by number."""
    if path is None:
        return []
    triples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) >= 2 and parts[0] and not parts[0].startswith("#"):
            triples.append((parts[0], parts[1], parts[2] if len(parts) > 2 else parts[0]))
    return triples


@app.command("simulate")
def simulate(
    *,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8900,
    seed: Annotated[int, typer.Option(help="The scenario's seed: same seed, same parcels.")] = 7,
    parcels: Annotated[int, typer.Option(min=0, max=10_000, help="Parcels per provider.")] = 20,
    provider: Annotated[
        list[str] | None, typer.Option(help="A provider to simulate (repeatable).")
    ] = None,
    numbers: Annotated[
        Path | None,
        typer.Option(help="A file of provider,tracking_number[,carrier] lines to simulate too."),
    ] = None,
    limit: Annotated[
        list[str] | None,
        typer.Option(help="provider=label:window_s:requests (repeatable). Default: documented."),
    ] = None,
    latency_ms: Annotated[int, typer.Option(min=0, max=60_000, help="Delay per request.")] = 0,
    duplicates: Annotated[float, typer.Option(min=0, max=1, help="Share of scans twice.")] = 0.1,
    missing: Annotated[float, typer.Option(min=0, max=1, help="Share of scans never sent.")] = 0.05,
    lag_s: Annotated[int, typer.Option(min=0, help="Scans appear up to this late.")] = 1800,
    webhook: Annotated[
        list[str] | None,
        typer.Option(help="provider=URL,SECRET: send that provider's signed webhooks there."),
    ] = None,
    webhook_interval_s: Annotated[float, typer.Option(min=0.1, help="Between sends.")] = 5.0,
    days_ago: Annotated[float, typer.Option(min=0, help="Journeys start this long ago.")] = 2.0,
) -> None:
    """Serve simulated UPS, DHL and USPS tracking APIs (and send webhooks) on loopback."""
    targets = _targets(webhook or [])
    chosen = provider or [*POLLED_PROVIDERS, *[p for p in targets if p not in POLLED_PROVIDERS]]
    clock = SystemClock()
    faults = Faults(duplicate_share=duplicates, missing_share=missing, lag_s_max=lag_s)
    scenario = build_scenario(
        seed=seed,
        start=datetime.now(UTC) - timedelta(days=days_ago),
        parcels_per_provider=parcels,
        providers=chosen,
        faults=faults,
        numbers=_numbers(numbers),
    )
    simulator = CarrierSimulator(
        scenario=scenario,
        clock=clock,
        limits=_simulator_limits(limit or []),
        latency_s=latency_ms / 1000,
    )
    console.print(
        f"carrier simulator on [bold]http://{host}:{port}[/]: {len(scenario.parcels)} parcels "
        f"(seed {seed}); stats at /_simulator/stats, parcels at /_simulator/parcels"
    )
    for name, windows in simulator.limits.items():
        console.print(f"  {name}: " + ", ".join(f"{w.requests}/{w.label}" for w in windows))

    async def main() -> None:
        config = uvicorn.Config(
            create_simulator_app(simulator), host=host, port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        if targets:
            sender = WebhookSender(
                scenario=scenario, targets=targets, clock=clock, duplicate_share=duplicates
            )
            async with httpx.AsyncClient(timeout=10.0) as http:
                while not serving.done():
                    sent = await sender.send_due(http)
                    if sent:
                        console.print(f"webhooks sent: {sent}; answers so far {sender.outcomes}")
                    await asyncio.sleep(webhook_interval_s)
        await serving

    asyncio.run(main())
