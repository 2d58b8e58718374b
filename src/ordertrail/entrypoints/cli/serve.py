"""`ordertrail serve`: the API over the configured database, migrations applied on start."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.cli.common import DatabaseOption, console, open_app


def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    workers: Annotated[
        bool | None,
        typer.Option(
            "--workers/--no-workers",
            help="Run the relay and both lanes' workers in this process. "
            "Default: $ORDERTRAIL_EMBEDDED_WORKERS, else yes.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (migrations first), with the relay and workers unless told not to."""
    app = open_app(database)
    embedded = app.settings.embedded_workers if workers is None else workers
    console.print(
        f"Ordertrail on [bold]http://{host}:{port}[/]  database: {app.engine.url!r}\n"
        f"OpenAPI: http://{host}:{port}/docs   health: http://{host}:{port}/healthz\n"
        f"pipeline: {'relay and workers in this process' if embedded else 'not run here'}"
    )
    try:
        uvicorn.run(
            create_app(app, embedded_workers=embedded),
            host=host,
            port=port,
            log_level=log_level,
        )
    finally:
        app.close()
