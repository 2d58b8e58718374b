"""The published contract of the milestone messages: their JSON Schema and the AsyncAPI document.

Both are generated from the code that builds the messages (`services/milestones.py`) and the
payload models of the current event versions, so the contract cannot drift from what is sent.
`ordertrail docs generate` writes them to docs/; the API serves the AsyncAPI document.

Compatibility rule: every message valid under a frozen earlier version of the schema must stay
valid under the current one. `breaking_changes` finds the changes that break it; a breaking change
needs `MILESTONE_SCHEMA_VERSION` bumped and a new frozen copy in tests/contract/milestone_schemas/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from ordertrail import __version__
from ordertrail.domain.orders import CURRENT_VERSION, SCHEMAS, OrderStatus
from ordertrail.domain.orders.events import CURRENCY_PATTERN, Envelope, ShippingTerms
from ordertrail.domain.orders.parts import QUANTITY_FIELDS
from ordertrail.services.messaging import LANES
from ordertrail.services.milestones import MILESTONE_SCHEMA_VERSION, lane_of
from ordertrail.services.reference_docs import JSON_SCHEMA_DIALECT

# What `Change.effect` can say; see domain/orders/parts.py.
CHANGE_EFFECTS = ("applied", "recorded", "superseded")
CHANNEL_PREFIX = "ordertrail."
SCHEMA_BASE_URL = "https://ordertrail.dev/schemas/milestones"


def _payload_definitions() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the $defs of every current payload model and one if/then rule per event type."""
    definitions: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    for event_type, version in sorted(CURRENT_VERSION.items()):
        model = SCHEMAS[(event_type, version)].model
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            # Two models of one name would silently share a definition; refuse to publish that.
            assert definitions.setdefault(name, definition) == definition, f"two $defs {name}"
        rules.append(
            {
                "if": {"properties": {"event_type": {"const": event_type}}},
                "then": {"properties": {"payload": {"$ref": f"#/$defs/{model.__name__}"}}},
            }
        )
    return definitions, rules


def _order_schema() -> dict[str, Any]:
    line = {
        "type": "object",
        "properties": {
            "line_id": {"type": "string"},
            "sku": {"type": "string"},
            "unit_price_minor": {"type": "integer", "minimum": 0},
            **{name: {"type": "integer", "minimum": 0} for name in QUANTITY_FIELDS},
        },
        "required": ["line_id", "sku", "unit_price_minor", *QUANTITY_FIELDS],
        "additionalProperties": False,
    }
    properties = {
        "version": {
            "type": "integer",
            "minimum": 1,
            "description": "Order version after the event.",
        },
        "status": {"enum": [status.value for status in OrderStatus]},
        "customer_id": {"type": "string"},
        "currency": {"type": "string", "pattern": CURRENCY_PATTERN},
        "shipping_terms": {"enum": list(get_args(ShippingTerms))},
        "package_id": {"type": ["string", "null"]},
        "on_hold": {"type": "boolean"},
        "disputed": {"type": "boolean"},
        "lines": {"type": "array", "items": line},
    }
    return {
        "type": "object",
        "description": "The order as it stands after the event: every line's price and quantities.",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _change_schema() -> dict[str, Any]:
    statuses = [status.value for status in OrderStatus]
    properties = {
        "from_status": {"enum": [*statuses, None], "description": "null for order.placed."},
        "to_status": {"enum": statuses},
        "effect": {"enum": list(CHANGE_EFFECTS)},
        "late": {"type": "boolean", "description": "occurred_at precedes the latest applied."},
    }
    return {
        "type": "object",
        "description": "What applying the event did to the order.",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def milestone_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the milestone message body."""
    envelope = Envelope.model_json_schema()["properties"]
    definitions, rules = _payload_definitions()
    properties: dict[str, Any] = {
        "message_id": {"type": "string", "description": "`{tenant_id}/{event_id}`; dedupe on it."},
        "schema_version": {"const": MILESTONE_SCHEMA_VERSION},
        "tenant_id": envelope["tenant_id"],
        "order_id": envelope["order_id"],
        "event_id": envelope["event_id"],
        "event_type": {"enum": sorted(CURRENT_VERSION)},
        "source": envelope["source"],
        "occurred_at": envelope["occurred_at"],
        "recorded_at": {"type": "string", "format": "date-time"},
        "payload": {
            "type": "object",
            "description": "The event's payload upcast to the current version of its type.",
        },
        "change": _change_schema(),
        "order": _order_schema(),
    }
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE_URL}/milestone.v{MILESTONE_SCHEMA_VERSION}.json",
        "title": f"Order milestone v{MILESTONE_SCHEMA_VERSION}",
        "description": "One message per accepted event, from tracking to revenue.",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        # The payload's schema is chosen by event_type: a discriminator that jsonschema checks.
        "allOf": rules,
        "$defs": definitions,
    }


def _channel(lane: str) -> dict[str, Any]:
    types = sorted(t for t in CURRENT_VERSION if lane_of(t) == lane)
    return {
        "address": f"{CHANNEL_PREFIX}{lane}",
        "description": f"The {lane} lane. Event types: {', '.join(types)}.",
        "messages": {"milestone": {"$ref": "#/components/messages/milestone"}},
    }


def asyncapi_document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of the milestone channels, one per lane."""
    channels = {f"{CHANNEL_PREFIX}{lane}": _channel(lane) for lane in LANES}
    operations: dict[str, Any] = {}
    for lane in LANES:
        for action in ("send", "receive"):
            operations[f"{action}_{lane}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{CHANNEL_PREFIX}{lane}"},
                "messages": [{"$ref": f"#/channels/{CHANNEL_PREFIX}{lane}/messages/milestone"}],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Ordertrail order milestones",
            "version": __version__,
            "description": (
                "Every accepted event leaves through the outbox as one milestone message. "
                "Delivery is at least once: deduplicate on the message id. The routing "
                "(partition) key is the order_id; within a lane an order's messages arrive in "
                "order, across lanes there is no ordering."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {
                "milestone": {
                    "name": "milestone",
                    "title": f"Order milestone v{MILESTONE_SCHEMA_VERSION}",
                    "contentType": "application/json",
                    "correlationId": {"location": "$message.payload#/message_id"},
                    "headers": _headers_schema(),
                    "payload": {
                        "schemaFormat": "application/schema+json;version=draft-2020-12",
                        "schema": milestone_json_schema(),
                    },
                    "bindings": {
                        "kafka": {"key": {"type": "string", "description": "The order_id."}},
                    },
                }
            }
        },
    }


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "message_id": {
                "type": "string",
                "description": "`{tenant_id}/{event_id}`, where the broker carries message ids.",
            },
            "traceparent": {
                "type": "string",
                "description": "W3C trace context of the ingest, when it recorded one.",
            },
        },
    }


@dataclass(frozen=True, slots=True)
class BreakingChange:
    """One change that makes a message valid under the baseline invalid under the current schema."""

    location: str
    rule: str
    detail: str


def breaking_changes(*, baseline: dict[str, Any], current: dict[str, Any]) -> list[BreakingChange]:
    """List the changes from baseline to current that could refuse a baseline-valid message."""
    return _compare(baseline, current, location="#")


def _types(node: dict[str, Any]) -> set[str]:
    kinds = node.get("type", ())
    return {kinds} if isinstance(kinds, str) else set(kinds)


def _node_changes(old: dict[str, Any], new: dict[str, Any], location: str) -> list[BreakingChange]:
    found: list[BreakingChange] = []

    def report(rule: str, detail: str) -> None:
        found.append(BreakingChange(location=location, rule=rule, detail=detail))

    for name in sorted(set(old.get("properties", {})) - set(new.get("properties", {}))):
        report("property_removed", name)
    # Widening a type keeps old messages valid; narrowing or adding a type constraint does not.
    if _types(new) and not (_types(old) and _types(old) <= _types(new)):
        report("type_changed", f"{sorted(_types(old))} -> {sorted(_types(new))}")
    if "const" in old and old.get("const") != new.get("const"):
        report("const_changed", f"{old['const']!r} -> {new.get('const')!r}")
    for value in [v for v in old.get("enum", ()) if "enum" in new and v not in new["enum"]]:
        report("enum_value_removed", repr(value))
    for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
        report("required_added", name)
    before, after = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if before is not False and after is not True and before != after:
        report("additional_properties_tightened", f"{before!r} -> {after!r}")
    return found


def _compare(old: Any, new: Any, *, location: str) -> list[BreakingChange]:
    """Compare two schema nodes and, recursively, the subschemas they share."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    found = _node_changes(old, new, location)
    for key, value in old.items():
        if key not in new:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            for name in value.keys() & new[key].keys():
                found += _compare(value[name], new[key][name], location=f"{location}/{key}/{name}")
        elif isinstance(value, dict):
            found += _compare(value, new[key], location=f"{location}/{key}")
        elif isinstance(value, list) and isinstance(new[key], list):
            for index, (a, b) in enumerate(zip(value, new[key], strict=False)):
                found += _compare(a, b, location=f"{location}/{key}/{index}")
    return found
