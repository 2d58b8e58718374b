"""The README's short tour, over real HTTP against a real `ordertrail serve` and the real CLI."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordertrail.domain.canonical import canonical_json
from tests.e2e.conftest import Servers, run_cli

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.slow


def tour_events() -> list[dict[str, Any]]:
    """The event bodies the README's tour posts with curl, in order."""
    tour = README.read_text(encoding="utf-8").split("## A short tour", 1)[1].split("\n## ", 1)[0]
    bodies = re.findall(r"-d '(\{.*?\})'", tour, flags=re.DOTALL)
    return [json.loads(body) for body in bodies]


def test_the_readme_tour_works_over_real_http(tmp_path: Path, servers: Servers):
    placed, dispatched = tour_events()
    database = str(tmp_path / "ordertrail-demo.db")
    server = servers.start(database=database)
    output = run_cli(
        "keys", "create", "--database", database, "--tenant", "demo",
        "--role", "integration", "--role", "viewer",
        cwd=tmp_path,
    )  # fmt: skip
    [key] = re.findall(r"^(ot_\S+)$", output, flags=re.MULTILINE)

    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as http:
        first = http.post("/v1/events", json=placed)
        assert first.status_code == 201, first.text
        assert first.json() == {
            "index": 0,
            "outcome": "applied",
            "event_id": "tour-0001",
            "order_id": "TOUR-1",
            "order_status": "pending",
            "order_version": 1,
            "effect": "applied",
            "late": False,
        }
        again = http.post("/v1/events", json=placed)
        assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
        changed = {**placed, "payload": {**placed["payload"], "currency": "EUR"}}
        conflict = http.post("/v1/events", json=changed)
        assert (conflict.status_code, conflict.json()["error"]["code"]) == (
            409,
            "idempotency_conflict",
        )
        assert http.post("/v1/events", json=dispatched).status_code == 201

        order = http.get("/v1/orders/TOUR-1").json()
        timeline = http.get("/v1/orders/TOUR-1/timeline").json()
        quarantine = http.get("/v1/quarantine", params={"limit": 5}).json()

    assert order["status"] == "partially_fulfilled"
    [line] = order["lines"]
    assert (line["ordered"], line["shipped"]) == (2, 1)
    entries = timeline["entries"]
    assert [e["event_id"] for e in entries] == ["tour-0001", "tour-0002"]
    for entry, sent in zip(entries, [placed, dispatched], strict=True):
        body = canonical_json(sent).encode("utf-8")
        assert entry["checksum_sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["actor"].startswith("key:")
    assert (entries[1]["transition"]["from"], entries[1]["transition"]["to"]) == (
        "pending",
        "partially_fulfilled",
    )
    assert [q["reason_code"] for q in quarantine["items"]] == ["idempotency_conflict"]


def test_serve_answers_health_and_documents_itself_without_a_key(tmp_path: Path, servers):
    server = servers.start(database=str(tmp_path / "fresh.db"))
    assert httpx.get(f"{server.base_url}/healthz").json()["status"] == "ok"
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    assert "/v1/events" in spec["paths"]
    assert httpx.get(f"{server.base_url}/v1/orders").status_code == 401
