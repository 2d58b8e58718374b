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
) -> None:
    """Serve the HTTP API (migrations are applied first)."""
    app = open_app(database)
    console.print(
        f"Ordertrail on [bold]http://{host}:{port}[/]  database: {app.engine.url!r}\n"
        f"OpenAPI: http://{host}:{port}/docs   health: http://{host}:{port}/healthz"
    )
    try:
        uvicorn.run(create_app(app), host=host, port=port, log_level=log_level)
    finally:
        app.close()
