"""The in-memory fake's transaction semantics that one thread cannot show on a real database.

Two units of work open at once would block each other on PostgreSQL (row locks) and SQLite
(BEGIN IMMEDIATE); the fake cannot block, so it checks again at commit. These tests pin that.
"""

from __future__ import annotations

import pytest

from ordertrail.adapters.memory import MemoryStorage
from ordertrail.domain.orders import Order, parse_event
from ordertrail.services.ports import Changes, ConcurrentWrite
from tests.builders import envelope, placed
from tests.conftest import NOW
from tests.contract.support import record, rejection


def placed_changes(event_id: str, order_id: str = "SO-1") -> Changes:
    changes = Changes()
    record(placed(order_id=order_id, event_id=event_id), orders={}, changes=changes)
    return changes


def event_ids(storage: MemoryStorage) -> list[str]:
    return [row.event.event_id for row in storage.database.events]


def test_the_second_of_two_open_units_of_work_to_commit_an_event_id_loses():
    storage = MemoryStorage()
    with storage.uow_factory() as first, storage.uow_factory() as second:
        first.orders.write(changes=placed_changes("e-1"), now=NOW)
        second.orders.write(changes=placed_changes("e-1", order_id="SO-2"), now=NOW)
        first.commit()
        with pytest.raises(ConcurrentWrite):
            second.commit()
    assert event_ids(storage) == ["e-1"]
    assert storage.queries.get_order(tenant_id="acme", order_id="SO-2") is None


def test_the_second_of_two_writers_that_loaded_the_same_version_loses_at_commit():
    storage = MemoryStorage()
    with storage.uow_factory() as uow:
        uow.orders.write(changes=placed_changes("e-1"), now=NOW)
        uow.commit()
    confirm = envelope("order.confirmed", {}, event_id="e-2", minutes=1)
    hold = envelope("hold.placed", {"hold_id": "H", "reason_code": "x"}, event_id="e-3")
    with storage.uow_factory() as first, storage.uow_factory() as second:
        for uow, raw in ((first, confirm), (second, hold)):
            order = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"]
            changes = Changes()
            record(raw, orders={"SO-1": order}, changes=changes)
            changes.updated.append((order, 1))
            uow.orders.write(changes=changes, now=NOW)
        first.commit()
        with pytest.raises(ConcurrentWrite, match="changed since it was loaded"):
            second.commit()
    assert event_ids(storage) == ["e-1", "e-2"]
    document = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
    assert (document["version"], document["confirmed"], document["flags"]["on_hold"]) == (
        2,
        True,
        False,
    )


def test_two_updates_in_one_unit_of_work_are_checked_against_the_first_loaded_version():
    storage = MemoryStorage()
    with storage.uow_factory() as uow:
        uow.orders.write(changes=placed_changes("e-1"), now=NOW)
        uow.commit()
    with storage.uow_factory() as uow:
        order = uow.orders.load_orders(tenant_id="acme", order_ids=["SO-1"])["SO-1"]
        for raw in (
            envelope("order.confirmed", {}, event_id="e-2", minutes=1),
            envelope("hold.placed", {"hold_id": "H", "reason_code": "x"}, event_id="e-3"),
        ):
            version = order.version
            changes = Changes()
            record(raw, orders={"SO-1": order}, changes=changes)
            changes.updated.append((order, version))
            uow.orders.write(changes=changes, now=NOW)
        uow.commit()
    document = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
    assert document["version"] == 3


def test_a_refused_write_stages_nothing_of_itself():
    storage = MemoryStorage()
    with storage.uow_factory() as uow:
        uow.orders.write(changes=placed_changes("e-1"), now=NOW)
        refused = placed_changes("e-1", order_id="SO-2")
        refused.quarantine.append(rejection("q-1"))
        with pytest.raises(ConcurrentWrite):
            uow.orders.write(changes=refused, now=NOW)
        uow.commit()
    assert event_ids(storage) == ["e-1"]
    assert storage.database.quarantine == {}


def test_writes_after_a_commit_need_a_commit_of_their_own():
    storage = MemoryStorage()
    with storage.uow_factory() as uow:
        uow.orders.write(changes=placed_changes("e-1"), now=NOW)
        uow.commit()
        uow.orders.write(changes=placed_changes("e-2", order_id="SO-2"), now=NOW)
    assert event_ids(storage) == ["e-1"]


def test_commit_outside_the_unit_of_work_is_an_error():
    uow = MemoryStorage().uow_factory()
    with pytest.raises(RuntimeError, match="outside"):
        uow.commit()


def test_committed_rows_cannot_be_changed_through_objects_the_caller_kept():
    storage = MemoryStorage()
    changes = placed_changes("e-1")
    kept = rejection("q-1")
    changes.quarantine.append(kept)
    order: Order = changes.created[0]
    with storage.uow_factory() as uow:
        uow.orders.write(changes=changes, now=NOW)
        uow.commit()
    kept.field_errors.append({"loc": "x", "code": "y", "message": "z"})
    order.apply(parse_event(envelope("order.confirmed", {}, minutes=1), now=NOW))
    (item,) = storage.queries.timeline(tenant_id="acme", order_id="SO-1")["quarantined"]
    assert len(item["field_errors"]) == 1
    assert storage.queries.get_order(tenant_id="acme", order_id="SO-1")["confirmed"] is False


def test_a_naive_timestamp_is_refused_like_the_sql_column_type_does():
    storage = MemoryStorage()
    with storage.uow_factory() as uow, pytest.raises(ValueError, match="naive"):
        uow.orders.write(changes=placed_changes("e-1"), now=NOW.replace(tzinfo=None))
