"""Metrics fixtures: the API over the parametrized database, and an operator key to scrape with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.conftest import make_principal

Headers = dict[str, str]


@pytest.fixture
def app(sqlite_app: Ordertrail) -> Ordertrail:
    """The HTTP side is the same on both databases; the database gauges are tested on both."""
    return sqlite_app


@pytest.fixture
def client(app: Ordertrail) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


@pytest.fixture
def operator(app: Ordertrail) -> Headers:
    """A key of the deployment's own tenant with the operator role: what Prometheus scrapes with."""
    _, token = make_principal(app, tenant_id="ops", roles=("operator",))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def integration(app: Ordertrail) -> Headers:
    _, token = make_principal(app, tenant_id="acme", roles=("integration",))
    return {"Authorization": f"Bearer {token}"}
