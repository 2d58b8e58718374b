"""The SQL approval store on SQLite and PostgreSQL: the service's round trip through real rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ordertrail.bootstrap import Ordertrail
from ordertrail.services.approval_ports import ApprovalFilter
from ordertrail.services.approvals import Party
from tests.conftest import NOW


def echo(
    *, uow: Any, tenant_id: str, payload: Mapping[str, Any], actor: str, now: datetime
) -> Mapping[str, Any] | None:
    return {"value": payload["value"], "nested": {"list": [1, 2]}}


def test_requests_round_trip_decide_once_and_expire(app: Ordertrail) -> None:
    app.approval_kinds.register_executor("test.echo", "controller", echo)
    approvals = app.approvals
    ana = Party(actor="key:ana", owner="ana")
    made = [
        approvals.request(
            tenant_id="acme",
            kind="test.echo",
            subject=f"order:SO-{i}",
            payload={"value": i, "text": "ünïcode"},
            reason="r",
            requester=ana,
            now=NOW + timedelta(minutes=i),
            expires_at=NOW + timedelta(hours=1 + i),
        )
        for i in range(3)
    ]
    assert approvals.get(tenant_id="acme", request_id=made[0].request_id) == made[0]
    approved = approvals.approve(
        tenant_id="acme",
        request_id=made[2].request_id,
        approver=Party(actor="key:carl"),
        approver_roles=("controller",),
        now=NOW + timedelta(minutes=5),
    )
    assert approvals.get(tenant_id="acme", request_id=made[2].request_id) == approved
    assert approved.result == {"value": 2, "nested": {"list": [1, 2]}}

    expired = approvals.expire_due(now=NOW + timedelta(hours=2, minutes=30))
    assert [r.request_id for r in expired] == [made[0].request_id, made[1].request_id]
    listed = approvals.find(tenant_id="acme", where=ApprovalFilter(status="expired"), limit=1)
    assert [r.request_id for r in listed] == [made[1].request_id, made[0].request_id]
    after = (listed[0].requested_at, listed[0].request_id)
    rest = approvals.find(tenant_id="acme", where=ApprovalFilter(), after=after)
    assert [r.request_id for r in rest] == [made[0].request_id]
    assert approvals.find(tenant_id="other", where=ApprovalFilter()) == []
