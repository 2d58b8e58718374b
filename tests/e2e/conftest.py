"""Real `ordertrail` processes for end-to-end tests: serve on a free loopback port, CLI calls."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT_S = 30.0


def ordertrail_command() -> list[str]:
    """The installed console script next to this interpreter, else the same entry point via -c."""
    script = Path(sys.executable).parent / "ordertrail"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ordertrail.entrypoints.cli import main; main()"]


def child_environment(**overrides: str) -> dict[str, str]:
    """This environment without Ordertrail settings, plus `overrides`, so nothing leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERTRAIL_")}
    env.update(overrides)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return env


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run one CLI command to completion and return its standard output."""
    done = subprocess.run(
        [*ordertrail_command(), *args],
        cwd=cwd,
        env=env or child_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"ordertrail {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One `ordertrail serve` process."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill_9(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, no goodbye."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Servers:
    """Starts servers and makes sure every one of them is gone after the test."""

    directory: Path
    started: list[Server] = field(default_factory=list)

    def start(self, *, database: str, env: dict[str, str] | None = None) -> Server:
        for _ in range(3):  # the free port can be taken between probing and binding
            server = self._spawn(database=database, env=env or child_environment())
            if self._wait_healthy(server):
                return server
            server.kill_9()
            if "address already in use" not in server.log().lower():
                break
        pytest.fail(f"ordertrail serve did not become healthy:\n{server.log()}")

    def _spawn(self, *, database: str, env: dict[str, str]) -> Server:
        port = free_port()
        log_path = self.directory / f"serve-{len(self.started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    *ordertrail_command(),
                    "serve",
                    "--database",
                    database,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                cwd=self.directory,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log_path)
        self.started.append(server)
        return server

    @staticmethod
    def _wait_healthy(server: Server) -> bool:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        return False

    def stop_all(self) -> None:
        for server in self.started:
            server.kill_9()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    pool = Servers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
