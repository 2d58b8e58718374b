"""`ordertrail relay`: move outbox rows to the broker, as a process of its own."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.entrypoints.workers.relay import RelayBusy, run_relay

OnceOption = Annotated[
    bool, typer.Option("--once", help="Stop as soon as there is nothing left to do.")
]
MaxSecondsOption = Annotated[
    float | None, typer.Option(min=0.1, help="Stop after this many seconds.", show_default=False)
]


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT end the loop after its current batch."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def relay(
    once: OnceOption = False,
    max_seconds: MaxSecondsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Publish outbox rows to the broker (only one relay is active; others stand by)."""
    app = open_app(database)
    configure_logging()

    async def main() -> int:
        stop = asyncio.Event()
        stop_on_signals(stop)
        return await run_relay(app=app, stop=stop, once=once, max_seconds=max_seconds)

    try:
        published = asyncio.run(main())
    except RelayBusy as error:
        raise fail(str(error), code=3) from None
    finally:
        app.close()
    console.print(f"published {published} message(s)")
