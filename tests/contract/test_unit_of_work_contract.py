"""Storage contract, part 1: the unit of work and the order repository, on every implementation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ordertrail.domain.orders import Order, order_to_state, parse_event
from ordertrail.services.ports import Changes, ConcurrentWrite
from tests.builders import dispatched, envelope, placed, qty
from tests.conftest import NOW
from tests.contract.support import record, rejection

LATER = NOW + timedelta(minutes=5)


def place(storage, *, tenant_id="acme", order_id="SO-1", event_id="e-1") -> Order:
    orders: dict[str, Order] = {}
    changes = Changes()
    raw = placed(tenant_id=tenant_id, order_id=order_id, event_id=event_id)
    order = record(raw, orders=orders, changes=changes)
    with storage.uow_factory() as uow:
        uow.orders.write(changes=changes, now=NOW)
        uow.commit()
    return order


def state(order: Order) -> tuple:
    return (order.tenant_id, order.order_id, order.status, order.version, order_to_state(order))


def commit(storage, changes: Changes) -> None:
    with storage.uow_factory() as uow:
        uow.orders.write(changes=changes, now=NOW)
        uow.commit()


def all_events(storage) -> list:
    return storage.event_log.read(tenant_id=None, after_seq=0, limit=1000)


def event_ids(storage) -> list[str]:
    return [json.loads(e.body)["event_id"] for e in all_events(storage)]


class TestRoundTrip:
    def test_written_rows_are_read_back_after_commit(self, storage):
        orders: dict[str, Order] = {}
        changes = Changes()
        record(placed(event_id="e-1"), orders=orders, changes=changes)
        record(
            dispatched("S1", qty(l1=1), event_id="e-2", minutes=3), orders=orders, changes=changes
        )
        changes.quarantine.append(rejection("q-1"))
        with storage.uow_factory() as uow:
            uow.orders.write(changes=changes, now=NOW)
            uow.commit()

        with storage.uow_factory() as uow:
            found = uow.orders.find_events(tenant_id="acme", event_ids=["e-1", "e-2", "e-3"])
            loaded = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1", "SO-9"])
        assert set(found) == {"e-1", "e-2"}
        second = found["e-2"]
        assert (second.order_id, second.order_version, second.status_after) == (
            "SO-1",
            2,
            "partially_fulfilled",
        )
        assert (second.effect, second.late, second.recorded_at) == ("applied", False, NOW)
        assert second.recorded_at.utcoffset() == timedelta(0)
        assert second.checksum_sha256 == changes.events[1].checksum_sha256
        assert set(loaded) == {"SO-1"}
        assert state(loaded["SO-1"]) == state(orders["SO-1"])
        timeline = storage.queries.timeline(tenant_id="acme", order_id="SO-1")
        assert [q["quarantine_id"] for q in timeline["quarantined"]] == ["q-1"]

    def test_a_unit_of_work_reads_its_own_uncommitted_writes(self, storage):
        orders: dict[str, Order] = {}
        changes = Changes()
        record(placed(event_id="e-1"), orders=orders, changes=changes)
        with storage.uow_factory() as uow:
            uow.orders.write(changes=changes, now=NOW)
            assert set(uow.orders.find_events(tenant_id="acme", event_ids=["e-1"])) == {"e-1"}
            loaded = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])
            assert state(loaded["SO-1"]) == state(orders["SO-1"])
            uow.commit()

    def test_an_update_at_the_loaded_version_replaces_the_projection(self, storage):
        place(storage)
        with storage.uow_factory() as uow:
            order = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"]
            loaded_version = order.version
            changes = Changes()
            record(
                dispatched("S1", qty(l1=2, l2=1), event_id="e-2", minutes=1),
                orders={"SO-1": order},
                changes=changes,
                now=LATER,
            )
            changes.updated.append((order, loaded_version))
            uow.orders.write(changes=changes, now=LATER)
            uow.commit()
        document = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
        assert (document["status"], document["version"]) == ("fulfilled", 2)
        assert (document["created_at"], document["updated_at"]) == (
            NOW.isoformat(),
            LATER.isoformat(),
        )
        with storage.uow_factory() as uow:
            again = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"]
        assert state(again) == state(order)

    def test_loaded_orders_are_copies_that_do_not_change_the_store(self, storage):
        place(storage)
        with storage.uow_factory() as uow:
            order = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"]
            order.apply(parse_event(envelope("order.confirmed", {}, minutes=1), now=NOW))
            uow.commit()
        with storage.uow_factory() as uow:
            fresh = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"]
        assert (fresh.version, fresh.confirmed) == (1, False)


class TestTransactions:
    def test_nothing_is_visible_when_the_unit_of_work_ends_without_commit(self, storage):
        orders: dict[str, Order] = {}
        changes = Changes(quarantine=[rejection("q-1")])
        record(placed(event_id="e-1"), orders=orders, changes=changes)
        with storage.uow_factory() as uow:
            uow.orders.write(changes=changes, now=NOW)
        self.assert_empty(storage)

    def test_an_exception_rolls_the_unit_of_work_back(self, storage):
        orders: dict[str, Order] = {}
        changes = Changes(quarantine=[rejection("q-1")])
        record(placed(event_id="e-1"), orders=orders, changes=changes)

        def fail_midway() -> None:
            with storage.uow_factory() as uow:
                uow.orders.write(changes=changes, now=NOW)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            fail_midway()
        self.assert_empty(storage)

    def test_uncommitted_writes_are_invisible_to_readers_until_commit(self, storage):
        orders: dict[str, Order] = {}
        changes = Changes()
        record(placed(event_id="e-1"), orders=orders, changes=changes)
        with storage.uow_factory() as uow:
            uow.orders.write(changes=changes, now=NOW)
            assert storage.queries.get_order(tenant_id="acme", order_id="SO-1") is None
            assert all_events(storage) == []
            uow.commit()
        assert storage.queries.get_order(tenant_id="acme", order_id="SO-1") is not None

    def test_writes_after_a_commit_need_a_commit_of_their_own(self, storage):
        first, second = Changes(), Changes()
        record(placed(event_id="e-1"), orders={}, changes=first)
        record(placed(order_id="SO-2", event_id="e-2"), orders={}, changes=second)
        with storage.uow_factory() as uow:
            uow.orders.write(changes=first, now=NOW)
            uow.commit()
            uow.orders.write(changes=second, now=NOW)
        assert event_ids(storage) == ["e-1"]
        assert storage.queries.get_order(tenant_id="acme", order_id="SO-2") is None

    @staticmethod
    def assert_empty(storage):
        assert all_events(storage) == []
        assert storage.event_log.projections(tenant_id=None, after=None, limit=10) == []
        assert storage.queries.get_order(tenant_id="acme", order_id="SO-1") is None
        assert storage.queries.timeline(tenant_id="acme", order_id="SO-1") is None
        page = storage.queries.list_quarantine(
            tenant_id="acme", order_id=None, reason_code=None, limit=10, cursor=None
        )
        assert page.items == []
        with storage.uow_factory() as uow:
            assert uow.orders.find_events(tenant_id="acme", event_ids=["e-1"]) == {}
            assert uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"]) == {}


class TestConflicts:
    def test_writing_a_stored_event_id_again_in_another_unit_of_work_is_a_concurrent_write(
        self, storage
    ):
        place(storage, event_id="e-1")
        orders: dict[str, Order] = {}
        changes = Changes()
        record(placed(order_id="SO-2", event_id="e-1"), orders=orders, changes=changes)
        with pytest.raises(ConcurrentWrite):
            commit(storage, changes)
        assert [e.order_id for e in all_events(storage)] == ["SO-1"]
        assert storage.queries.get_order(tenant_id="acme", order_id="SO-2") is None

    def test_the_same_event_id_twice_in_one_write_is_a_concurrent_write(self, storage):
        orders: dict[str, Order] = {}
        changes = Changes()
        record(placed(event_id="e-1"), orders=orders, changes=changes)
        record(placed(order_id="SO-2", event_id="e-1"), orders=orders, changes=changes)
        with pytest.raises(ConcurrentWrite):
            commit(storage, changes)
        assert all_events(storage) == []

    def test_an_update_from_a_stale_version_is_a_concurrent_write(self, storage):
        place(storage)
        with storage.uow_factory() as uow:
            first = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"]
            changes = Changes()
            record(
                envelope("order.confirmed", {}, event_id="e-2", minutes=1),
                orders={"SO-1": first},
                changes=changes,
            )
            changes.updated.append((first, 1))
            uow.orders.write(changes=changes, now=NOW)
            uow.commit()
        # A writer that loaded version 1 before that commit now tries to write its own version 2.
        stale = place_like_version_one()
        changes = Changes()
        record(
            envelope("hold.placed", {"hold_id": "H", "reason_code": "x"}, event_id="e-3"),
            orders={"SO-1": stale},
            changes=changes,
        )
        changes.updated.append((stale, 1))
        with pytest.raises(ConcurrentWrite):
            commit(storage, changes)
        document = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
        assert (document["version"], document["confirmed"], document["flags"]["on_hold"]) == (
            2,
            True,
            False,
        )
        assert [e.order_id for e in all_events(storage)] == ["SO-1", "SO-1"]

    def test_an_update_of_an_order_that_does_not_exist_is_a_concurrent_write(self, storage):
        ghost = place_like_version_one()
        changes = Changes()
        record(
            envelope("order.confirmed", {}, event_id="e-2"), orders={"SO-1": ghost}, changes=changes
        )
        changes.updated.append((ghost, 1))
        with pytest.raises(ConcurrentWrite):
            commit(storage, changes)
        assert all_events(storage) == []

    def test_creating_an_order_that_exists_is_a_concurrent_write(self, storage):
        place(storage, event_id="e-1")
        orders: dict[str, Order] = {}
        changes = Changes()
        record(placed(event_id="e-2"), orders=orders, changes=changes)
        with pytest.raises(ConcurrentWrite):
            commit(storage, changes)
        assert event_ids(storage) == ["e-1"]

    def test_the_store_accepts_new_writes_after_a_refused_one(self, storage):
        place(storage, event_id="e-1")
        duplicate = Changes()
        record(placed(order_id="SO-2", event_id="e-1"), orders={}, changes=duplicate)
        with pytest.raises(ConcurrentWrite):
            commit(storage, duplicate)
        place(storage, order_id="SO-3", event_id="e-3")
        assert event_ids(storage) == ["e-1", "e-3"]


def place_like_version_one() -> Order:
    order, _ = Order.place(parse_event(placed(event_id="e-x"), now=NOW))
    return order


class TestTenancy:
    def test_the_same_order_and_event_ids_in_two_tenants_are_independent(self, storage):
        place(storage, tenant_id="acme", order_id="SO-1", event_id="e-1")
        place(storage, tenant_id="globex", order_id="SO-1", event_id="e-1")
        storage.ingest(
            [dispatched("S1", qty(l1=2, l2=1), tenant_id="globex", event_id="e-2", minutes=1)],
            tenant_id="globex",
        )
        acme = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
        globex = storage.queries.get_order(tenant_id="globex", order_id="SO-1")
        assert (acme["tenant_id"], acme["status"], acme["version"]) == ("acme", "pending", 1)
        assert (globex["tenant_id"], globex["status"], globex["version"]) == (
            "globex",
            "fulfilled",
            2,
        )
        with storage.uow_factory() as uow:
            assert set(uow.orders.find_events(tenant_id="acme", event_ids=["e-1", "e-2"])) == {
                "e-1"
            }
            assert set(uow.orders.find_events(tenant_id="globex", event_ids=["e-1", "e-2"])) == {
                "e-1",
                "e-2",
            }
            assert uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"].version == 1
            assert uow.orders.load_orders(tenant_id="initech", order_ids=["SO-1"]) == {}

    def test_queries_never_cross_tenants(self, storage):
        storage.ingest([placed(tenant_id="acme"), delivered_unknown("acme")], tenant_id="acme")
        storage.ingest([placed(tenant_id="globex", order_id="SO-G")], tenant_id="globex")
        assert storage.queries.get_order(tenant_id="globex", order_id="SO-1") is None
        assert storage.queries.timeline(tenant_id="globex", order_id="SO-1") is None
        page = storage.queries.list_orders(
            tenant_id="globex", status=None, updated_before=None, limit=10, cursor=None
        )
        assert [o["order_id"] for o in page.items] == ["SO-G"]
        assert storage.queries.count_orders_by_status(tenant_id="globex") == {"pending": 1}
        assert storage.queries.count_orders_by_status(tenant_id="initech") == {}
        quarantined = storage.queries.list_quarantine(
            tenant_id="globex", order_id=None, reason_code=None, limit=10, cursor=None
        )
        assert quarantined.items == []
        assert {
            e.tenant_id for e in storage.event_log.read(tenant_id="globex", after_seq=0, limit=10)
        } == {"globex"}
        rows = storage.event_log.projections(tenant_id="acme", after=None, limit=10)
        assert [(r.tenant_id, r.order_id) for r in rows] == [("acme", "SO-1")]


def delivered_unknown(tenant_id: str) -> dict:
    return envelope("shipment.delivered", {"shipment_id": "S404"}, tenant_id=tenant_id, minutes=1)
