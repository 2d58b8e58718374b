"""HTTP API fixtures: a TestClient over `create_app` on the parametrized database, and keys."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordertrail.adapters.db import tables
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.conftest import make_principal

Headers = dict[str, str]


@pytest.fixture
def client(app: Ordertrail) -> Iterator[TestClient]:
    """The real API over the real database; server errors are raised in the test, not hidden."""
    with TestClient(create_app(app)) as test_client:
        yield test_client


@pytest.fixture
def key_for(app: Ordertrail) -> Callable[..., Headers]:
    """Create a real API key and return its Authorization header."""

    def make(tenant_id: str = "acme", roles: tuple[str, ...] = ("integration",)) -> Headers:
        _, token = make_principal(app, tenant_id=tenant_id, roles=roles)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def acme(key_for: Callable[..., Headers]) -> Headers:
    """An integration key of tenant acme: may write events and read everything of acme."""
    return key_for("acme", ("integration",))


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, HEAD aside, with included routers flattened.

    FastAPI keeps included routers as branches (`original_router` with an include prefix) rather
    than copying their routes into `app.routes`; walk them so a new endpoint cannot hide.
    """
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            branch = getattr(route, "original_router", None)
            if branch is not None:
                walk(branch.routes, prefix + route.include_context.prefix)
                continue
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD":
                    # "{order_id:path}" is "{order_id}" to clients and in OpenAPI.
                    path = re.sub(r"\{(\w+):\w+\}", r"{\1}", prefix + route.path)
                    found.add((method, path))

    walk(app.routes, "")
    return found


def row_count(app: Ordertrail, table_name: str, **where: Any) -> int:
    """Count rows of a table straight from the database, optionally filtered by column values."""
    table = tables.metadata.tables[table_name]
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with app.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def quarantined(client: TestClient, headers: Headers, **params: Any) -> list[dict[str, Any]]:
    """The caller's quarantine, newest first, through the API."""
    response = client.get("/v1/quarantine", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
