"""Storage contract, part 2: the read models (order, timeline, keyset-paginated lists)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ordertrail.domain.canonical import canonical_json
from ordertrail.services.ports import Changes
from tests.builders import delivered, dispatched, envelope, placed, qty
from tests.conftest import NOW, T0
from tests.contract.support import rejection


def minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def hold(hold_id: str, **kw) -> dict:
    return envelope("hold.placed", {"hold_id": hold_id, "reason_code": "credit"}, **kw)


def page_through(fetch, *, limit: int) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        page = fetch(limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        items += page.items
        pages += 1
        assert pages < 100
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


class TestGetOrder:
    def test_returns_the_projection_as_the_api_shows_it(self, storage):
        raw = placed(event_id="e-1")
        raw["occurred_at"] = "2026-11-02T11:00:00+02:00"
        storage.ingest([raw], now=NOW)
        storage.ingest(
            [
                dispatched("S1", qty(l1=1), event_id="e-2", minutes=10),
                hold("H1", event_id="e-3", minutes=11),
                envelope(
                    "invoice.issued",
                    {"invoice_id": "INV-1", "amount_minor": 7000, "currency": "USD"},
                    event_id="e-4",
                    minutes=12,
                ),
            ],
            now=minutes(5),
        )
        document = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
        assert {k: document[k] for k in ("order_id", "tenant_id", "status", "version")} == {
            "order_id": "SO-1",
            "tenant_id": "acme",
            "status": "partially_fulfilled",
            "version": 4,
        }
        assert (document["customer_id"], document["currency"]) == ("CUST-1", "USD")
        assert (document["shipping_terms"], document["package_id"], document["confirmed"]) == (
            "fob_destination",
            None,
            False,
        )
        assert document["flags"] == {
            "on_hold": True,
            "holds": {"H1": "credit"},
            "disputed": False,
            "disputes": {},
        }
        assert document["billing"] == {
            "invoiced_minor": 7000,
            "credited_minor": 0,
            "documents": ["invoice:INV-1"],
        }
        assert [(line["line_id"], line["shipped"]) for line in document["lines"]] == [
            ("1", 1),
            ("2", 0),
        ]
        assert document["shipments"][0]["shipment_id"] == "S1"
        # Timestamps come back in UTC whatever offset the event carried.
        assert document["placed_at"] == "2026-11-02T09:00:00+00:00"
        assert document["last_occurred_at"] == (T0 + timedelta(minutes=12)).isoformat()
        assert (document["created_at"], document["updated_at"]) == (
            NOW.isoformat(),
            minutes(5).isoformat(),
        )

    def test_an_unknown_order_is_none(self, storage):
        assert storage.queries.get_order(tenant_id="acme", order_id="SO-404") is None


class TestTimeline:
    def test_lists_events_by_occurrence_then_arrival_with_their_transitions(self, storage):
        storage.ingest(
            [
                placed(event_id="e-placed"),
                dispatched("S1", qty(l1=2, l2=1), event_id="e-dispatched", minutes=10),
            ]
        )
        storage.ingest(
            [
                hold("H1", event_id="e-late-hold", minutes=5),
                delivered("S1", event_id="e-delivered", minutes=20),
                hold("H2", event_id="e-tie-1", minutes=20),
                hold("H3", event_id="e-tie-2", minutes=20),
                delivered("S404", event_id="e-refused", minutes=30),
            ],
            now=minutes(1),
        )
        timeline = storage.queries.timeline(tenant_id="acme", order_id="SO-1")
        assert (timeline["order_id"], timeline["status"], timeline["version"]) == (
            "SO-1",
            "delivered",
            6,
        )
        entries = timeline["entries"]
        assert [e["event_id"] for e in entries] == [
            "e-placed",
            "e-late-hold",
            "e-dispatched",
            "e-delivered",
            "e-tie-1",
            "e-tie-2",
        ]
        sequences = {e["event_id"]: e["sequence"] for e in entries}
        assert sequences["e-dispatched"] < sequences["e-late-hold"] < sequences["e-delivered"]
        assert sequences["e-tie-1"] < sequences["e-tie-2"]
        late = entries[1]
        assert (late["late"], late["effect"], late["status_after"], late["order_version"]) == (
            True,
            "applied",
            "fulfilled",
            3,
        )
        assert late["transition"] is None
        assert late["occurred_at"] == (T0 + timedelta(minutes=5)).isoformat()
        assert late["recorded_at"] == minutes(1).isoformat()
        assert (late["type"], late["schema_version"], late["source"], late["actor"]) == (
            "hold.placed",
            1,
            "oms",
            "key:test",
        )
        assert late["envelope"]["event_id"] == "e-late-hold"
        assert late["checksum_sha256"]
        assert entries[0]["transition"] == {
            "from": None,
            "to": "pending",
            "actor": "key:test",
            "recorded_at": NOW.isoformat(),
        }
        assert entries[3]["transition"]["from"] == "fulfilled"
        assert [
            (t["from"], t["to"], t["cause_event_id"], t["order_version"])
            for t in timeline["transitions"]
        ] == [
            (None, "pending", "e-placed", 1),
            ("pending", "fulfilled", "e-dispatched", 2),
            ("fulfilled", "delivered", "e-delivered", 4),
        ]
        (refused,) = timeline["quarantined"]
        assert (refused["event_id"], refused["reason_code"]) == ("e-refused", "unknown_shipment")

    def test_an_order_known_only_from_quarantine_has_a_timeline_without_status(self, storage):
        storage.ingest([delivered("S1", order_id="SO-9", event_id="e-1")])
        timeline = storage.queries.timeline(tenant_id="acme", order_id="SO-9")
        assert (timeline["status"], timeline["version"], timeline["entries"]) == (None, None, [])
        assert [q["reason_code"] for q in timeline["quarantined"]] == ["unknown_order"]

    def test_an_unknown_order_has_no_timeline(self, storage):
        assert storage.queries.timeline(tenant_id="acme", order_id="SO-404") is None


def orders_at(storage, spec: list[tuple[str, int]]) -> None:
    """Place each order id with its projection last written at NOW + the given minutes."""
    for order_id, offset in spec:
        storage.ingest([placed(order_id=order_id, event_id=f"p-{order_id}")], now=minutes(offset))


SPEC = [
    ("SO-01", 0),
    ("SO-02", 0),
    ("SO-03", 0),
    ("SO-04", 1),
    ("SO-05", 1),
    ("SO-06", 2),
    ("SO-07", 3),
    ("SO-08", 3),
    ("SO-09", 3),
]
NEWEST_FIRST = [
    order_id for order_id, _ in sorted(SPEC, key=lambda item: (item[1], item[0]), reverse=True)
]


class TestListOrders:
    @pytest.mark.parametrize("limit", [1, 2, 4, 9, 50])
    def test_pages_newest_first_without_duplicates_or_gaps(self, storage, limit):
        orders_at(storage, SPEC)

        def fetch(*, limit, cursor):
            return storage.queries.list_orders(
                tenant_id="acme", status=None, updated_before=None, limit=limit, cursor=cursor
            )

        assert [o["order_id"] for o in page_through(fetch, limit=limit)] == NEWEST_FIRST

    def test_an_exact_last_page_has_no_next_cursor(self, storage):
        orders_at(storage, SPEC[:2])
        page = storage.queries.list_orders(
            tenant_id="acme", status=None, updated_before=None, limit=2, cursor=None
        )
        assert (len(page.items), page.next_cursor) == (2, None)

    def test_pages_stay_stable_when_orders_change_while_paging(self, storage):
        orders_at(storage, SPEC)
        first = storage.queries.list_orders(
            tenant_id="acme", status=None, updated_before=None, limit=4, cursor=None
        )
        # A new order and an update to an already-listed one, both newer than every cursor.
        storage.ingest([placed(order_id="SO-10", event_id="p-SO-10")], now=minutes(9))
        storage.ingest([hold("H", order_id="SO-09", event_id="h-SO-09")], now=minutes(9))
        rest = page_through(
            lambda *, limit, cursor: storage.queries.list_orders(
                tenant_id="acme",
                status=None,
                updated_before=None,
                limit=limit,
                cursor=cursor or first.next_cursor,
            ),
            limit=4,
        )
        listed = [o["order_id"] for o in first.items + rest]
        assert listed == NEWEST_FIRST

    def test_filters_by_status_and_by_last_update(self, storage):
        orders_at(storage, SPEC)
        storage.ingest(
            [
                envelope("order.confirmed", {}, order_id=o, event_id=f"c-{o}")
                for o in ("SO-02", "SO-05")
            ],
            now=minutes(4),
        )

        def ids(**filters):
            page = storage.queries.list_orders(
                tenant_id="acme",
                limit=50,
                cursor=None,
                **{"status": None, "updated_before": None, **filters},
            )
            return [o["order_id"] for o in page.items]

        assert ids(status="confirmed") == ["SO-05", "SO-02"]
        assert ids(status="delivered") == []
        assert ids(updated_before=minutes(1)) == ["SO-03", "SO-01"]
        assert ids(updated_before=minutes(1).astimezone(timezone(timedelta(hours=-5)))) == [
            "SO-03",
            "SO-01",
        ]
        assert ids(status="pending", updated_before=minutes(3)) == [
            "SO-06",
            "SO-04",
            "SO-03",
            "SO-01",
        ]
        paged = page_through(
            lambda *, limit, cursor: storage.queries.list_orders(
                tenant_id="acme", status="pending", updated_before=None, limit=limit, cursor=cursor
            ),
            limit=2,
        )
        assert [o["order_id"] for o in paged] == [
            o for o in NEWEST_FIRST if o not in ("SO-02", "SO-05")
        ]

    @pytest.mark.parametrize(
        "cursor",
        [
            "not a cursor!",
            base64.urlsafe_b64encode(b"[1, 2]").decode(),
            base64.urlsafe_b64encode(b'["2026-11-28T12:00:00+00:00"]').decode(),
            base64.urlsafe_b64encode(b'["yesterday", "SO-1"]').decode(),
            base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        ],
    )
    def test_refuses_a_cursor_it_did_not_issue(self, storage, cursor):
        orders_at(storage, SPEC[:1])
        with pytest.raises(ValueError, match="cursor"):
            storage.queries.list_orders(
                tenant_id="acme", status=None, updated_before=None, limit=5, cursor=cursor
            )


class TestListQuarantine:
    def quarantine(self, storage, rows) -> None:
        with storage.uow_factory() as uow:
            uow.orders.write(changes=Changes(quarantine=rows), now=NOW)
            uow.commit()

    def test_pages_newest_first_with_filters_and_keeps_everything_sent(self, storage):
        rows = [
            rejection("q-1", received_at=minutes(0)),
            rejection("q-2", received_at=minutes(0), order_id="SO-2"),
            rejection("q-3", received_at=minutes(0), reason_code="schema_invalid", order_id=None),
            rejection("q-4", received_at=minutes(1)),
            rejection("q-5", received_at=minutes(2), reason_code="schema_invalid"),
            rejection("q-6", received_at=minutes(2)),
            rejection("q-7", tenant_id="globex", received_at=minutes(2)),
        ]
        self.quarantine(storage, rows)

        def listed(limit=2, **filters):
            def fetch(*, limit, cursor):
                return storage.queries.list_quarantine(
                    tenant_id="acme",
                    limit=limit,
                    cursor=cursor,
                    **{"order_id": None, "reason_code": None, **filters},
                )

            return [item["quarantine_id"] for item in page_through(fetch, limit=limit)]

        assert listed(limit=1) == ["q-6", "q-5", "q-4", "q-3", "q-2", "q-1"]
        assert listed(limit=2) == ["q-6", "q-5", "q-4", "q-3", "q-2", "q-1"]
        assert listed(limit=10) == ["q-6", "q-5", "q-4", "q-3", "q-2", "q-1"]
        assert listed(order_id="SO-1") == ["q-6", "q-5", "q-4", "q-1"]
        assert listed(reason_code="schema_invalid") == ["q-5", "q-3"]
        assert listed(order_id="SO-1", reason_code="schema_invalid") == ["q-5"]

        page = storage.queries.list_quarantine(
            tenant_id="acme", order_id=None, reason_code=None, limit=1, cursor=None
        )
        (item,) = page.items
        original = rows[5]
        assert item == {
            "quarantine_id": "q-6",
            "received_at": minutes(2).isoformat(),
            "event_id": original.event_id,
            "order_id": "SO-1",
            "event_type": "shipment.delivered",
            "source": "carrier:ups",
            "reason_code": "unknown_shipment",
            "reason": original.reason,
            "field_errors": original.field_errors,
            "body": original.body,
            "checksum_sha256": original.checksum_sha256,
            "actor": "key:test",
            "now_applied": False,
        }

    def test_refuses_a_cursor_it_did_not_issue(self, storage):
        with pytest.raises(ValueError, match="cursor"):
            storage.queries.list_quarantine(
                tenant_id="acme", order_id=None, reason_code=None, limit=5, cursor="%%%"
            )

    def test_a_naive_time_in_a_cursor_is_refused(self, storage):
        cursor = base64.urlsafe_b64encode(json.dumps(["2026-11-28T12:00:00", "q-1"]).encode())
        with pytest.raises(ValueError, match="cursor"):
            storage.queries.list_quarantine(
                tenant_id="acme", order_id=None, reason_code=None, limit=5, cursor=cursor.decode()
            )

    def test_a_rejected_body_is_kept_byte_for_byte(self, storage):
        raw = placed()
        raw["payload"]["lines"] = "Zoë"
        storage.ingest([raw])
        (item,) = storage.queries.list_quarantine(
            tenant_id="acme", order_id=None, reason_code=None, limit=5, cursor=None
        ).items
        assert item["body"] == canonical_json(raw)
        assert item["received_at"] == NOW.astimezone(UTC).isoformat()


class TestQuarantined:
    def test_finds_items_by_id_or_an_order_s_items_not_applied_since(self, storage):
        early = delivered("S1", event_id="e-early", minutes=5)
        storage.ingest([placed(event_id="e-1"), early, hold("H", event_id="e-2", minutes=1)])
        storage.ingest([delivered("S404", event_id="e-never", minutes=6)], now=minutes(1))
        storage.ingest([delivered("S1", order_id="SO-2", event_id="e-other")], now=minutes(2))
        storage.ingest(
            [dispatched("S1", qty(l1=2, l2=1), event_id="e-3", minutes=4), early], now=minutes(3)
        )
        every = storage.queries.quarantined(
            tenant_id="acme", quarantine_ids=None, order_id=None, limit=10
        )
        assert [(q["event_id"], q["now_applied"]) for q in every] == [
            ("e-early", True),
            ("e-never", False),
            ("e-other", False),
        ]
        by_id = storage.queries.quarantined(
            tenant_id="acme",
            quarantine_ids=[every[2]["quarantine_id"], every[0]["quarantine_id"], "q-404"],
            order_id=None,
            limit=10,
        )
        assert [q["event_id"] for q in by_id] == ["e-early", "e-other"]
        open_items = storage.queries.quarantined(
            tenant_id="acme", quarantine_ids=None, order_id="SO-1", limit=10
        )
        assert [q["event_id"] for q in open_items] == ["e-never"]
        assert (
            storage.queries.quarantined(
                tenant_id="globex", quarantine_ids=None, order_id=None, limit=10
            )
            == []
        )
        assert (
            len(
                storage.queries.quarantined(
                    tenant_id="acme", quarantine_ids=None, order_id=None, limit=2
                )
            )
            == 2
        )

    def test_an_id_reused_with_another_payload_is_not_now_applied(self, storage):
        storage.ingest([placed()])
        storage.ingest([hold("H", event_id="e-9", minutes=2), hold("H", event_id="e-8", minutes=3)])
        storage.ingest([envelope("hold.released", {"hold_id": "H"}, event_id="e-8", minutes=4)])
        (item,) = storage.queries.quarantined(
            tenant_id="acme", quarantine_ids=None, order_id=None, limit=10
        )
        assert (item["event_id"], item["reason_code"]) == ("e-8", "duplicate_hold")
        assert item["now_applied"] is False


class TestCountOrdersByStatus:
    def test_counts_each_status_of_the_tenant(self, storage):
        orders_at(storage, SPEC[:4])
        storage.ingest(
            [
                envelope("order.confirmed", {}, order_id="SO-01", event_id="c1"),
                envelope("order.cancelled", {"reason": "r"}, order_id="SO-02", event_id="x2"),
            ]
        )
        assert storage.queries.count_orders_by_status(tenant_id="acme") == {
            "pending": 2,
            "confirmed": 1,
            "cancelled": 1,
        }
