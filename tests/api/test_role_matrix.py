"""The role x action matrix, driven by the route table itself.

Every route the app serves is read for the action its `require(...)` dependency checks, so the
matrix cannot drift from the code: a route with no sample request in tests/api/test_roles.py
REQUESTS fails here, as does a sample filed under another action than the route checks. Then a
key of each role walks every route: 403 exactly when PERMISSIONS leaves the role out of the
route's action, otherwise the sample's own status (never 403).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from ordertrail.services.access import PERMISSIONS, Action, Role
from tests.api.test_roles import REQUESTS, WITHOUT_ENDPOINT
from tests.builders import dispatched, placed, qty
from tests.conftest import make_principal

# Routes no key opens: health and the API's own description, and the carrier webhook, which
# the provider's signature authenticates.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("POST", "/v1/carriers/webhooks/{provider}/{token}"),
    ("POST", "/v1/disputes/webhook/{token}"),
}

Sample = tuple[str, str, Any, int]


def _routes(routes: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for route in routes:
        branch = getattr(route, "original_router", None)
        if branch is not None:
            yield from _routes(branch.routes, prefix + route.include_context.prefix)
        else:
            yield prefix, route


def _actions(dependant: Any) -> set[Action]:
    """The actions `require(action)` dependencies check, read from their closures."""
    found: set[Action] = set()
    for dependency in dependant.dependencies:
        for cell in getattr(dependency.call, "__closure__", None) or ():
            if isinstance(cell.cell_contents, Action):
                found.add(cell.cell_contents)
        found |= _actions(dependency)
    return found


def _pattern(raw: str) -> re.Pattern[str]:
    """Match concrete paths to a template: "{name:path}" spans slashes, "{name}" does not."""
    parts = re.split(r"(\{\w+(?::\w+)?\})", raw)
    regex = "".join(
        (".+" if ":path" in part else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(f"^{regex}$")


def route_table(app: FastAPI) -> dict[tuple[str, str], tuple[re.Pattern[str], set[Action]]]:
    """(method, path template) -> (its path pattern, the actions it checks), HEAD aside."""
    table: dict[tuple[str, str], tuple[re.Pattern[str], set[Action]]] = {}
    for prefix, route in _routes(app.routes, ""):
        raw = prefix + route.path
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", raw)
        dependant = getattr(route, "dependant", None)
        actions = set() if dependant is None else _actions(dependant)
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                table[(method, path)] = (_pattern(raw), actions)
    return table


def samples_by_route(
    table: dict[tuple[str, str], tuple[re.Pattern[str], set[Action]]],
) -> dict[tuple[str, str], list[tuple[Action, Sample]]]:
    """Each REQUESTS row filed under the route it calls (literal paths win over templates)."""
    found: dict[tuple[str, str], list[tuple[Action, Sample]]] = {}
    for action, rows in REQUESTS.items():
        for row in rows:
            method, path = row[0], row[1].split("?")[0]
            matches = [
                key
                for key, (pattern, _) in table.items()
                if key[0] == method and pattern.match(path)
            ]
            # The most specific template wins: fewest parameters, then the longest.
            matches.sort(key=lambda key: (key[1].count("{"), -len(key[1])))
            assert matches, f"{method} {path} (filed under {action.value}) is no served route"
            found.setdefault(matches[0], []).append((action, row))
    return found


@pytest.fixture
def table(sqlite_app: Ordertrail) -> dict[tuple[str, str], tuple[re.Pattern[str], set[Action]]]:
    return route_table(create_app(sqlite_app))


def test_every_route_checks_exactly_one_action_and_has_a_sample_filed_under_it(
    table: dict[tuple[str, str], tuple[re.Pattern[str], set[Action]]],
) -> None:
    samples = samples_by_route(table)
    missing = sorted(key for key in table if key not in PUBLIC and key not in samples)
    assert missing == [], "routes without a sample request in tests/api/test_roles.py REQUESTS"
    for key, (_, actions) in table.items():
        if key in PUBLIC:
            assert actions == set(), f"{key} is public yet checks {actions}"
            continue
        assert len(actions) == 1, f"{key} checks {actions}"
        filed = {action for action, _ in samples[key]}
        assert filed == actions, f"{key} checks {actions} but its samples are filed under {filed}"


def test_every_action_is_checked_by_some_route_or_explained(
    table: dict[tuple[str, str], tuple[re.Pattern[str], set[Action]]],
) -> None:
    checked = set().union(*(actions for _, actions in table.values()))
    assert checked | set(WITHOUT_ENDPOINT) == set(PERMISSIONS)
    assert not checked & set(WITHOUT_ENDPOINT)


@pytest.mark.parametrize("role", list(Role))
def test_a_key_of_each_role_gets_403_exactly_where_the_matrix_says(
    sqlite_app: Ordertrail, role: Role
) -> None:
    admin, _ = make_principal(sqlite_app, roles=("admin",))
    sqlite_app.ingest(
        raw_events=[placed(), dispatched("S1", qty(l9=1), minutes=1)], principal=admin
    )
    _, token = make_principal(sqlite_app, roles=(role.value,))
    app = create_app(sqlite_app)
    table = route_table(app)
    walked = 0
    with TestClient(app) as client:
        for key, rows in sorted(samples_by_route(table).items()):
            [action] = table[key][1]
            allowed = role in PERMISSIONS[action]
            for _, (method, path, body, allowed_status) in rows:
                response = client.request(
                    method,
                    path,
                    headers={"Authorization": f"Bearer {token}"},
                    json=None if body is None else body(),
                )
                walked += 1
                if allowed:
                    assert response.status_code == allowed_status, (role, path, response.text)
                else:
                    assert response.status_code == 403, (role, path, response.text)
                    assert response.json()["error"]["code"] == "forbidden"
    assert walked == sum(len(rows) for rows in REQUESTS.values())
