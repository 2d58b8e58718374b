"""The controls store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import pytest

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.controls.holds import Hold
from ordertrail.domain.controls.rules import rule_from
from ordertrail.services.controls_ports import ControlsUnitOfWork, Decision, GateOrder, StoredRule
from tests.conftest import NOW

Factory = Callable[[], ControlsUnitOfWork]


@pytest.fixture
def uow_factory(app: Ordertrail) -> Factory:
    """SQLite and PostgreSQL (the `app` fixture's parameters); the gate tests use the fake."""
    return cast(Factory, app.uow_factory)


def _decision(**changes: Any) -> Decision:
    base = Decision(
        order_id="SO-1",
        contract_id="ctr-SO-1",
        obligation_id="1/unit",
        line_id="1",
        outcome="held",
        reason="held by hold-1",
        facts={"line": {"shipped": 2}},
        counts={"shipped": 0},
        decided_at=NOW,
        cause="acme/evt-1",
    )
    return replace(base, **changes)


def test_holds_are_stored_released_once_and_listed_by_order(uow_factory: Factory) -> None:
    hold = Hold(
        hold_id="hold-1",
        order_id="SO-1",
        reason_code="legal",
        source="manual",
        placed_by="key:a",
        placed_at=NOW,
        line_id="1",
    )
    with uow_factory() as uow:
        uow.controls.add_hold(tenant_id="acme", hold=hold)
        uow.commit()
    released = replace(hold, released_by="key:b", released_at=NOW, approval_id="req-1")
    with uow_factory() as uow:
        uow.controls.save_release(tenant_id="acme", hold=released)
        uow.controls.save_release(tenant_id="acme", hold=replace(released, released_by="key:c"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.controls.hold(tenant_id="acme", hold_id="hold-1") == released
        assert uow.controls.holds(tenant_id="acme", open_only=True) == []
        assert uow.controls.holds(tenant_id="acme", order_id="SO-1") == [released]
        assert uow.controls.holds(tenant_id="other") == []


def test_gate_state_is_upserted_and_pending_orders_are_found(uow_factory: Factory) -> None:
    gate = GateOrder(
        order_id="SO-1",
        body={"event_id": "e1", "order": {"lines": []}},
        facts={"signed_by": "J"},
        released={"1": {"shipped": 1, "delivered": 0, "accepted": 0, "returned": 0}},
        pending=True,
        updated_at=NOW,
    )
    with uow_factory() as uow:
        uow.controls.save_gate_order(tenant_id="acme", gate=gate)
        uow.commit()
    with uow_factory() as uow:
        assert uow.controls.gate_order(tenant_id="acme", order_id="SO-1") == gate
        assert uow.controls.pending_orders() == [("acme", "SO-1")]
        uow.controls.save_gate_order(
            tenant_id="acme", gate=replace(gate, pending=False, fallback_lines=("1",))
        )
        uow.commit()
    with uow_factory() as uow:
        assert uow.controls.pending_orders() == []
        found = uow.controls.gate_order(tenant_id="acme", order_id="SO-1")
        assert found is not None
        assert found.fallback_lines == ("1",)


def test_rule_versions_and_decisions_round_trip(uow_factory: Factory) -> None:
    rule = rule_from({"rule_id": "r", "criterion": "delivery.signed", "sku": "W"}, version=1)
    with uow_factory() as uow:
        uow.controls.add_rule(
            tenant_id="acme",
            stored=StoredRule(rule=rule, status="proposed", proposed_by="key:a", proposed_at=NOW),
        )
        uow.controls.add_decisions(
            tenant_id="acme",
            decisions=[_decision(), _decision(outcome="fallback", fallback=True)],
        )
        uow.commit()
    later = NOW + timedelta(hours=1)
    with uow_factory() as uow:
        uow.controls.set_rule_status(
            tenant_id="acme",
            rule_id="r",
            version=1,
            status="active",
            approved_by="key:b",
            approved_at=later,
        )
        uow.commit()
    with uow_factory() as uow:
        [stored] = uow.controls.rules(tenant_id="acme")
        assert (stored.rule, stored.status, stored.approved_by) == (rule, "active", "key:b")
        newest_first = uow.controls.decisions(tenant_id="acme", contract_id="ctr-SO-1")
        assert [d.outcome for d in newest_first] == ["fallback", "held"]
        assert newest_first[1].facts == {"line": {"shipped": 2}}
        fallbacks = uow.controls.decisions(tenant_id="acme", fallback_only=True)
        assert [d.outcome for d in fallbacks] == ["fallback"]
        assert uow.controls.decisions(tenant_id="acme", obligation_id="2/support") == []
