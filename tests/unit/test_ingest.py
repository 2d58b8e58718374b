"""The ingest service through the in-memory unit of work: outcomes, quarantine, retries."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from itertools import count
from typing import Any

import pytest

from ordertrail.adapters.memory import MemoryStorage, MemoryUnitOfWork
from ordertrail.domain.canonical import canonical_json, sha256_hex
from ordertrail.services.ingest import ATTEMPTS_MAX, BATCH_SIZE_MAX, ingest
from ordertrail.services.ports import ConcurrentWrite, StoredEvent
from ordertrail.services.projections import verify_projections
from ordertrail.services.quarantine import quarantine_unparseable
from ordertrail.services.results import BatchSummary, Outcome
from tests.builders import delivered, dispatched, envelope, placed, qty
from tests.conftest import NOW


def ids() -> Callable[[], str]:
    counter = count(1)
    return lambda: f"q{next(counter):08d}"


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


def run(storage_or_factory: Any, raw_events: list[Any], *, tenant_id: str = "acme", new_id=None):
    factory = getattr(storage_or_factory, "uow_factory", storage_or_factory)
    return ingest(
        uow_factory=factory,
        raw_events=raw_events,
        tenant_id=tenant_id,
        actor="key:test",
        now=NOW,
        new_id=new_id or ids(),
    )


def stored_ids(storage: MemoryStorage) -> list[str]:
    return [row.event.event_id for row in storage.database.events]


def quarantine(storage: MemoryStorage) -> list[dict[str, Any]]:
    page = storage.queries.list_quarantine(
        tenant_id="acme", order_id=None, reason_code=None, limit=100, cursor=None
    )
    return page.items


class TestOutcomes:
    def test_applied_events_are_stored_with_transitions_projection_and_outbox(self, storage):
        batch = [placed(), dispatched("S1", qty(l1=2, l2=1), minutes=1), delivered("S1", minutes=2)]
        results = run(storage, batch)
        assert [r.outcome for r in results] == [Outcome.APPLIED] * 3
        assert [(r.index, r.order_status, r.order_version) for r in results] == [
            (0, "pending", 1),
            (1, "fulfilled", 2),
            (2, "delivered", 3),
        ]
        assert stored_ids(storage) == [raw["event_id"] for raw in batch]
        stored = storage.database.events[0].event
        assert stored.body == canonical_json(batch[0])
        assert stored.checksum_sha256 == sha256_hex(canonical_json(batch[0]))
        assert stored.actor == "key:test"
        order = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
        assert (order["status"], order["version"]) == ("delivered", 3)
        timeline = storage.queries.timeline(tenant_id="acme", order_id="SO-1")
        assert [(t["from"], t["to"]) for t in timeline["transitions"]] == [
            (None, "pending"),
            ("pending", "fulfilled"),
            ("fulfilled", "delivered"),
        ]
        outbox = storage.outbox()
        assert [m.event_id for m in outbox] == stored_ids(storage)
        assert [m.lane for m in outbox] == ["critical"] * 3
        assert json.loads(outbox[2].body)["change"]["to_status"] == "delivered"
        assert verify_projections(log=storage.event_log, tenant_id=None) == []

    def test_an_event_that_changes_no_status_writes_no_transition(self, storage):
        run(storage, [placed(), envelope("hold.placed", {"hold_id": "H", "reason_code": "x"})])
        assert len(storage.database.events) == 2
        assert len(storage.database.transitions) == 1

    def test_resending_an_applied_event_is_a_duplicate_with_the_first_answer(self, storage):
        first = placed(event_id="e-1")
        run(storage, [first, dispatched("S1", qty(l1=1), minutes=1)])
        (again,) = run(storage, [first])
        assert again.outcome == Outcome.DUPLICATE
        assert (again.event_id, again.order_status, again.order_version) == ("e-1", "pending", 1)
        assert again.http_status == 200
        assert len(storage.database.events) == 2
        assert quarantine(storage) == []

    def test_reusing_an_event_id_with_another_payload_is_a_conflict_kept_in_quarantine(
        self, storage
    ):
        run(storage, [placed(event_id="e-1")])
        other = placed(event_id="e-1", order_id="SO-2")
        (result,) = run(storage, [other])
        assert result.outcome == Outcome.CONFLICT
        assert result.error_code == "idempotency_conflict"
        assert result.http_status == 409
        (kept,) = quarantine(storage)
        assert kept["quarantine_id"] == result.quarantine_id
        assert kept["body"] == canonical_json(other)
        assert (kept["event_id"], kept["order_id"]) == ("e-1", "SO-2")
        assert storage.queries.get_order(tenant_id="acme", order_id="SO-2") is None

    def test_a_lifecycle_refusal_is_rejected_and_kept_with_its_reason_and_body(self, storage):
        bad = delivered("S9", minutes=1)
        results = run(storage, [placed(), bad])
        assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.REJECTED]
        assert (results[1].error_code, results[1].error_kind) == ("unknown_shipment", "lifecycle")
        (kept,) = quarantine(storage)
        assert kept["reason_code"] == "unknown_shipment"
        assert "S9" in kept["reason"]
        assert kept["body"] == canonical_json(bad)
        assert kept["checksum_sha256"] == sha256_hex(canonical_json(bad))
        assert (kept["event_type"], kept["source"], kept["actor"]) == (
            "shipment.delivered",
            "carrier:ups",
            "key:test",
        )
        assert stored_ids(storage) == [results[0].event_id]

    def test_a_schema_rejection_keeps_its_field_errors(self, storage):
        raw = placed()
        raw["payload"]["lines"][0]["quantity"] = -1
        (result,) = run(storage, [raw])
        assert (result.outcome, result.error_code, result.error_kind) == (
            Outcome.REJECTED,
            "schema_invalid",
            "schema",
        )
        assert [e["loc"] for e in result.field_errors] == ["payload.lines.0.quantity"]
        (kept,) = quarantine(storage)
        assert kept["field_errors"] == result.field_errors

    def test_something_that_is_not_an_event_object_is_still_kept(self, storage):
        (result,) = run(storage, [["not", "an", "object"]])
        assert (result.outcome, result.event_id) == (Outcome.REJECTED, None)
        (kept,) = quarantine(storage)
        assert kept["body"] == '["not","an","object"]'
        assert kept["event_id"] is None

    @pytest.mark.parametrize(
        ("field", "value"),
        [("unit_price_minor", float("inf")), ("unit_price_minor", float("nan")), ("sku", "\ud800")],
    )
    def test_a_value_canonical_json_cannot_carry_is_rejected_and_kept_not_a_crash(
        self, storage, field, value
    ):
        raw = placed()
        raw["payload"]["lines"][0][field] = value
        results = run(storage, [raw, placed(order_id="SO-2")])
        assert [r.outcome for r in results] == [Outcome.REJECTED, Outcome.APPLIED]
        assert len(quarantine(storage)) == 1

    def test_an_event_for_another_tenant_is_rejected(self, storage):
        (result,) = run(storage, [placed(tenant_id="globex")])
        assert result.error_code == "tenant_mismatch"
        assert storage.database.events == []

    def test_the_summary_counts_each_outcome(self, storage):
        run(storage, [placed(event_id="e-1")])
        results = run(
            storage, [placed(event_id="e-1"), placed(event_id="e-1", order_id="X"), {"x": 1}]
        )
        assert BatchSummary.of(results) == BatchSummary(
            applied=0, duplicate=1, rejected=1, conflict=1
        )

    def test_a_batch_over_the_limit_is_refused_whole(self, storage):
        with pytest.raises(ValueError, match="at most"):
            run(storage, [placed()] * (BATCH_SIZE_MAX + 1))
        assert storage.database.events == []


class TestInBatchDuplicates:
    def test_the_same_event_twice_in_a_batch_is_applied_once_then_a_duplicate(self, storage):
        raw = placed(event_id="e-1")
        results = run(storage, [raw, dict(raw)])
        assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.DUPLICATE]
        assert results[1].order_version == 1
        assert stored_ids(storage) == ["e-1"]

    def test_the_same_id_with_another_payload_in_a_batch_is_a_conflict(self, storage):
        results = run(storage, [placed(event_id="e-1"), placed(event_id="e-1", order_id="SO-2")])
        assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.CONFLICT]
        assert stored_ids(storage) == ["e-1"]

    def test_a_rejected_event_sent_twice_is_quarantined_twice(self, storage):
        bad = delivered("S9", event_id="e-9")
        results = run(storage, [placed(), bad, dict(bad)])
        assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.REJECTED, Outcome.REJECTED]
        assert len(quarantine(storage)) == 2

    def test_a_fixed_event_may_reuse_the_id_of_a_rejected_one(self, storage):
        run(storage, [placed(), delivered("S9", event_id="e-9", minutes=2)])
        results = run(
            storage,
            [
                dispatched("S9", qty(l1=2, l2=1), minutes=1),
                delivered("S9", event_id="e-9", minutes=2),
            ],
        )
        assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.APPLIED]


class ScriptedUnitOfWork(MemoryUnitOfWork):
    """A real memory unit of work that runs a hook at one step of one attempt."""

    def __init__(self, storage: MemoryStorage, hooks: dict[str, Callable[[], None]]) -> None:
        super().__init__(storage.database)
        self._hooks = hooks

    def __enter__(self):
        super().__enter__()
        repository = self.orders
        hooks = self._hooks

        class Repository:
            def find_events(self, *, tenant_id: str, event_ids: Collection[str]):
                found = repository.find_events(tenant_id=tenant_id, event_ids=event_ids)
                if hook := hooks.pop("after_find_events", None):
                    hook()
                return found

            def load_orders(self, *, tenant_id: str, order_ids: Collection[str]):
                return repository.load_orders(tenant_id=tenant_id, order_ids=order_ids)

            def write(self, *, changes, now):
                if hook := hooks.pop("before_write", None):
                    hook()
                repository.write(changes=changes, now=now)

        self.orders = Repository()
        return self

    def commit(self) -> None:
        if hook := self._hooks.pop("before_commit", None):
            hook()
        super().commit()


class TestRetries:
    def test_a_concurrent_write_on_the_first_attempt_is_retried_and_doubles_nothing(self, storage):
        attempts: list[int] = []

        def refuse_once() -> None:
            if len(attempts) == 1:
                raise ConcurrentWrite("simulated: another writer committed first")

        hooks = {"before_commit": refuse_once}

        def factory():
            attempts.append(1)
            return ScriptedUnitOfWork(storage, hooks)

        batch = [placed(), dispatched("S1", qty(l1=1), minutes=1), delivered("S404", minutes=2)]
        results = run(factory, batch)
        assert len(attempts) == 2
        assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.APPLIED, Outcome.REJECTED]
        assert stored_ids(storage) == [batch[0]["event_id"], batch[1]["event_id"]]
        assert len(storage.database.transitions) == 2
        assert len(storage.outbox()) == 2
        assert len(quarantine(storage)) == 1
        assert verify_projections(log=storage.event_log, tenant_id=None) == []

    def test_a_real_race_on_the_same_event_ends_with_it_stored_once(self, storage):
        shared = placed(event_id="e-1")
        mine = dispatched("S1", qty(l1=1), minutes=1)
        hooks = {"before_write": lambda: run(storage, [shared])}
        results = run(lambda: ScriptedUnitOfWork(storage, hooks), [shared, mine])
        assert [r.outcome for r in results] == [Outcome.DUPLICATE, Outcome.APPLIED]
        assert stored_ids(storage) == ["e-1", mine["event_id"]]
        assert verify_projections(log=storage.event_log, tenant_id=None) == []

    def test_a_race_on_the_same_order_retries_against_its_new_version(self, storage):
        run(storage, [placed()])
        theirs = envelope("hold.placed", {"hold_id": "H1", "reason_code": "x"}, minutes=1)
        mine = dispatched("S1", qty(l1=2), minutes=2)
        hooks = {"before_commit": lambda: run(storage, [theirs])}
        (result,) = run(lambda: ScriptedUnitOfWork(storage, hooks), [mine])
        assert (result.outcome, result.order_version) == (Outcome.APPLIED, 3)
        order = storage.queries.get_order(tenant_id="acme", order_id="SO-1")
        assert (order["version"], order["flags"]["on_hold"]) == (3, True)
        assert verify_projections(log=storage.event_log, tenant_id=None) == []

    def test_gives_up_after_the_last_attempt_and_stores_nothing(self, storage):
        attempts: list[int] = []

        def always() -> None:
            raise ConcurrentWrite("simulated")

        def factory():
            attempts.append(1)
            return ScriptedUnitOfWork(storage, {"before_commit": always})

        with pytest.raises(ConcurrentWrite):
            run(factory, [placed(), {"x": 1}])
        assert len(attempts) == ATTEMPTS_MAX
        assert storage.database.events == []
        assert quarantine(storage) == []

    def test_an_event_committed_by_another_batch_after_the_duplicate_check_is_a_duplicate(
        self, storage
    ):
        run(storage, [placed()])
        shipment = dispatched("S1", qty(l1=1), minutes=1)
        hooks = {"after_find_events": lambda: run(storage, [shipment])}
        (result,) = run(lambda: ScriptedUnitOfWork(storage, hooks), [shipment])
        assert result.outcome == Outcome.DUPLICATE
        assert quarantine(storage) == []


class TestUnparseable:
    def test_a_body_that_is_not_json_is_kept_with_its_code(self, storage):
        quarantine_id = quarantine_unparseable(
            uow_factory=storage.uow_factory,
            body="{not json",
            tenant_id="acme",
            actor="key:test",
            now=NOW,
            new_id=lambda: "q-1",
            code="malformed_json",
            message="the body is not JSON",
        )
        (kept,) = quarantine(storage)
        assert (quarantine_id, kept["reason_code"], kept["body"]) == (
            "q-1",
            "malformed_json",
            "{not json",
        )
        assert kept["checksum_sha256"] == sha256_hex("{not json")


def test_stored_event_answers_are_what_duplicates_return(storage):
    run(storage, [placed(event_id="e-1")])
    with storage.uow_factory() as uow:
        found = uow.orders.find_events(tenant_id="acme", event_ids={"e-1", "e-2"})
    assert set(found) == {"e-1"}
    assert isinstance(found["e-1"], StoredEvent)
    assert (found["e-1"].order_version, found["e-1"].status_after) == (1, "pending")
