"""/healthz: liveness and database reachability, for load balancers, without a key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ordertrail import __version__
from ordertrail.bootstrap import Settings, bootstrap
from ordertrail.entrypoints.api import create_app


def test_healthz_is_ok_with_the_version_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "version": __version__}


def test_healthz_is_a_503_degraded_when_the_database_is_unreachable():
    # Nothing listens on port 1; the engine is lazy, so only the health check tries to connect.
    app = bootstrap(
        settings=Settings(database_url="postgresql://postgres@127.0.0.1:1/ordertrail"),
        migrate=False,
    )
    try:
        with TestClient(create_app(app)) as client:
            response = client.get("/healthz")
    finally:
        app.close()
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["database"] is False
