"""The milestone messages match their published schema, and the schema stays compatible with v1.

A breaking change (see `breaking_changes`) needs MILESTONE_SCHEMA_VERSION bumped and a new frozen
copy of the schema in tests/contract/milestone_schemas/; the old frozen copies stay.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import Engine, text

from ordertrail.adapters.traffic import generate_traffic, last_complete_month
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.orders import CURRENT_VERSION
from ordertrail.services.milestone_contract import (
    CHANNEL_PREFIX,
    asyncapi_document,
    breaking_changes,
    milestone_json_schema,
)
from ordertrail.services.milestones import MILESTONE_SCHEMA_VERSION, lane_of
from tests.conftest import NOW, make_principal

FROZEN = Path(__file__).parent / "milestone_schemas"
BATCH_SIZE = 500


def frozen_schema(version: int) -> dict[str, Any]:
    return json.loads((FROZEN / f"milestone.v{version}.json").read_text(encoding="utf-8"))


@cache
def validator(schema_json: str | None = None) -> Draft202012Validator:
    """A validator for the current schema, or for a frozen one given as JSON text."""
    schema = milestone_json_schema() if schema_json is None else json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    # jsonschema checks date-time only with rfc3339-validator installed; without it the format
    # would pass silently, so check it here: an ISO 8601 timestamp with an offset.
    formats = FormatChecker()
    formats.checks("date-time", raises=ValueError)(
        lambda value: not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None
    )
    return Draft202012Validator(schema, format_checker=formats)


def errors_of(body: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(body)]


@pytest.fixture
def outbox_bodies(sqlite_app: Ordertrail, sqlite_engine: Engine) -> list[dict[str, Any]]:
    """Ingest a month of realistic traffic and return every body in the outbox."""
    traffic = generate_traffic(seed=7, orders_count=120, month_start=last_complete_month(NOW))
    principal, _ = make_principal(sqlite_app, tenant_id="demo")
    for start in range(0, len(traffic.events), BATCH_SIZE):
        batch = traffic.events[start : start + BATCH_SIZE]
        sqlite_app.ingest(raw_events=batch, principal=principal)
    with sqlite_engine.connect() as connection:
        rows = connection.execute(text("SELECT lane, event_type, body FROM outbox")).all()
    for lane, event_type, body in rows:
        assert lane == lane_of(event_type)
        assert json.loads(body)["event_type"] == event_type
    return [json.loads(body) for _, _, body in rows]


def test_every_message_in_the_outbox_matches_the_published_schema(outbox_bodies):
    assert {body["event_type"] for body in outbox_bodies} == set(CURRENT_VERSION)
    failures = {body["message_id"]: errors for body in outbox_bodies if (errors := errors_of(body))}
    assert failures == {}


@pytest.mark.parametrize("version", [1])
def test_a_consumer_written_against_a_frozen_version_accepts_every_message_emitted_now(
    outbox_bodies, version: int
):
    # The consumer's side of compatibility: what we emit today must still be valid under the
    # schema an older consumer was written against, whatever the schema diff says.
    frozen = validator((FROZEN / f"milestone.v{version}.json").read_text(encoding="utf-8"))
    failures = {
        body["message_id"]: [e.message for e in frozen.iter_errors(body)]
        for body in outbox_bodies
        if not frozen.is_valid(body)
    }
    assert failures == {}


def test_the_schema_refuses_a_message_missing_a_field_or_of_a_wrong_type(outbox_bodies):
    body = next(b for b in outbox_bodies if b["event_type"] == "shipment.delivered")
    assert errors_of(body) == []
    cases = {
        "missing order_id": lambda m: m.pop("order_id"),
        "missing line quantity": lambda m: m["order"]["lines"][0].pop("delivered"),
        "version as a string": lambda m: m["order"].update(version="3"),
        "unknown event type": lambda m: m.update(event_type="order.teleported"),
        "payload of another type": lambda m: m.update(payload={"hold_id": "H1"}),
        "unknown status": lambda m: m["change"].update(to_status="lost"),
        "extra field": lambda m: m.update(surprise=True),
        "occurred_at not a timestamp": lambda m: m.update(occurred_at="yesterday"),
        "recorded_at without offset": lambda m: m.update(recorded_at="2026-11-28T12:00:00"),
    }
    for case, mutate in cases.items():
        broken = copy.deepcopy(body)
        mutate(broken)
        assert errors_of(broken), case


def test_the_asyncapi_document_publishes_one_channel_per_lane_with_the_schema():
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    assert set(document["channels"]) == {f"{CHANNEL_PREFIX}critical", f"{CHANNEL_PREFIX}bulk"}
    message = document["components"]["messages"]["milestone"]
    assert message["contentType"] == "application/json"
    assert {"traceparent", "message_id"} <= set(message["headers"]["properties"])
    assert message["payload"]["schema"] == milestone_json_schema()
    actions = Counter(operation["action"] for operation in document["operations"].values())
    assert actions == {"send": 2, "receive": 2}


@pytest.mark.parametrize("version", range(1, MILESTONE_SCHEMA_VERSION + 1))
def test_the_current_schema_breaks_no_consumer_of_a_frozen_version(version: int):
    if version == MILESTONE_SCHEMA_VERSION:
        assert milestone_json_schema() == frozen_schema(version), (
            "the schema changed without a version bump; compatible changes still need the frozen "
            "copy refreshed, breaking ones need MILESTONE_SCHEMA_VERSION bumped"
        )
    found = breaking_changes(baseline=frozen_schema(version), current=milestone_json_schema())
    assert found == []


def mutated(change) -> dict[str, Any]:
    schema = frozen_schema(1)
    change(schema)
    return schema


BREAKING = {
    "property_removed": lambda s: s["properties"].pop("recorded_at"),
    "type_changed": lambda s: s["properties"]["order"]["properties"]["version"].update(
        type="string"
    ),
    "enum_value_removed": lambda s: s["properties"]["change"]["properties"]["effect"].update(
        enum=["applied", "recorded"]
    ),
    "required_added": lambda s: s["$defs"]["HoldPlaced"]["required"].append("note"),
    "additional_properties_tightened": lambda s: s["properties"]["payload"].update(
        additionalProperties=False
    ),
    "const_changed": lambda s: s["properties"]["schema_version"].update(const=2),
}


@pytest.mark.parametrize("rule", sorted(BREAKING))
def test_the_compatibility_check_finds_each_kind_of_breaking_change(rule: str):
    found = breaking_changes(baseline=frozen_schema(1), current=mutated(BREAKING[rule]))
    assert [change.rule for change in found] == [rule], found


def test_the_compatibility_check_accepts_changes_that_keep_old_messages_valid():
    def widen(schema: dict[str, Any]) -> None:
        schema["required"].remove("source")
        schema["properties"]["order"]["properties"]["version"]["type"] = ["integer", "string"]
        schema["properties"]["change"]["properties"]["effect"]["enum"].append("merged")
        schema["properties"]["order"]["properties"]["channel"] = {"type": "string"}
        schema["properties"]["order"]["additionalProperties"] = True

    assert breaking_changes(baseline=frozen_schema(1), current=mutated(widen)) == []
