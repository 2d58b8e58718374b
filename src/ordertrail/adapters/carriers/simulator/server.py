"""Run the simulator's ASGI app with uvicorn in a background thread (tests, the demo)."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from ordertrail.adapters.carriers.simulator.app import CarrierSimulator, create_simulator_app

START_TIMEOUT_S = 10.0


class SimulatorServer:
    """`with SimulatorServer(simulator) as server:` serves on loopback at `server.url`."""

    def __init__(
        self, simulator: CarrierSimulator, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        config = uvicorn.Config(
            create_simulator_app(simulator),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="carrier-simulator", daemon=True
        )
        self.url = ""

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the carrier simulator did not start")
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT_S)
