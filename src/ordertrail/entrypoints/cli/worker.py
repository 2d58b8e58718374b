"""`ordertrail worker`: run the consumers of one or both lanes, as a process of its own."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer

from ordertrail.entrypoints.cli.common import DatabaseOption, console, open_app
from ordertrail.entrypoints.cli.relay import (
    MaxSecondsOption,
    OnceOption,
    configure_logging,
    stop_on_signals,
)
from ordertrail.entrypoints.workers.worker import run_worker
from ordertrail.services.consumer import ConsumeReport
from ordertrail.services.messaging import LANES

Lane = StrEnum("Lane", {lane.upper(): lane for lane in LANES})  # type: ignore[misc]


def worker(
    lane: Annotated[
        list[Lane] | None,
        typer.Option(help="A lane to consume (repeatable). Default: every lane."),
    ] = None,
    once: OnceOption = False,
    max_seconds: MaxSecondsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Consume messages: handle, retry with backoff, dead-letter what keeps failing."""
    lanes = [item.value for item in lane] if lane else list(LANES)
    app = open_app(database)
    configure_logging()

    async def main() -> dict[str, ConsumeReport]:
        stop = asyncio.Event()
        stop_on_signals(stop)
        return await run_worker(app=app, lanes=lanes, stop=stop, once=once, max_seconds=max_seconds)

    try:
        reports = asyncio.run(main())
    finally:
        app.close()
    for name, report in reports.items():
        console.print(
            f"{name}: handled {report.handled}, retried {report.retried}, "
            f"dead-lettered {report.dead_lettered}"
        )
