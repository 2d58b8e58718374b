"""Request bodies are bounded: over the limit is a 413 body_too_large, declared or streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Settings, bootstrap
from ordertrail.entrypoints.api import create_app
from tests.api.conftest import row_count
from tests.builders import placed

LIMIT_BYTES = 4096


@pytest.fixture
def small(engine, clock):
    """The app with a 4 KiB body limit, on the parametrized database."""
    app = bootstrap(
        settings=Settings(database_url=str(engine.url), request_body_max_bytes=LIMIT_BYTES),
        engine=engine,
        clock=clock,
        migrate=False,
    )
    with TestClient(create_app(app)) as client:
        yield app, client


def padded_event(size_bytes: int) -> bytes:
    """A valid order.placed event padded with insignificant whitespace to exactly `size_bytes`."""
    body = json.dumps(placed()).encode()
    return body + b" " * (size_bytes - len(body))


def chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def assert_too_large(response) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {
        "error": {
            "code": "body_too_large",
            "message": f"the request body exceeds {LIMIT_BYTES} bytes",
            "fields": [],
        }
    }


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
def test_a_body_declared_larger_than_the_limit_is_a_413_and_nothing_is_kept(small, acme, path):
    app, client = small
    response = client.post(path, content=padded_event(LIMIT_BYTES + 1), headers=acme)
    assert_too_large(response)
    assert row_count(app, "events") == 0
    assert row_count(app, "quarantine") == 0


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(small, acme, path):
    app, client = small
    body = padded_event(LIMIT_BYTES * 3)
    response = client.post(path, content=chunks(body), headers=acme)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_too_large(response)
    assert row_count(app, "events") == 0


def test_a_body_of_exactly_the_limit_is_accepted(small, acme):
    app, client = small
    response = client.post("/v1/events", content=padded_event(LIMIT_BYTES), headers=acme)
    assert response.status_code == 201, response.text
    assert row_count(app, "events") == 1


def test_a_streamed_body_within_the_limit_is_accepted(small, acme):
    _, client = small
    response = client.post("/v1/events", content=chunks(padded_event(LIMIT_BYTES)), headers=acme)
    assert response.status_code == 201, response.text


def test_the_default_limit_is_8_mib(app):
    assert app.settings.request_body_max_bytes == 8 * 1024 * 1024
