"""The demo's revenue controls: a hold, a dispute and an approved override on the sample's orders.

Run after the revenue part, through the same services the API uses: a manual hold placed on one
order and released; a dispute opened on another (the disputes service holds it) and rejected,
which releases it; and a `hold.release` override on a third order's legal hold, requested by one
person's key, refused when the same person tries to approve it with another key, and approved by
a controller. The audit chain is verified at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.table import Table

from ordertrail.bootstrap import Ordertrail
from ordertrail.services import audit
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import Party, SelfApproval
from ordertrail.services.keys import Principal, create_key

DISPUTE_ID = "D-DEMO-1"


@dataclass(frozen=True, slots=True)
class ControlsRun:
    held_order: str
    disputed_order: str
    override_order: str
    request: ApprovalRequest
    self_approval_code: str
    audit_records: int
    audit_ok: bool
    audit_first_break: str | None


def _key(app: Ordertrail, *, tenant_id: str, role: str, owner: str, now: datetime) -> Principal:
    record, _token = create_key(
        store=app.keys,
        tenant_id=tenant_id,
        roles=[role],
        name=f"demo {owner}",
        now=now,
        owner=owner,
    )
    return Principal(
        key_id=record.key_id, tenant_id=tenant_id, roles=record.roles, owner=record.owner
    )


def orders_with_contracts(app: Ordertrail, *, tenant_id: str, order_ids: list[str]) -> list[str]:
    with app.uow_factory() as uow:
        return [
            order_id
            for order_id in order_ids
            if uow.revenue.contract_of_order(tenant_id=tenant_id, order_id=order_id)  # type: ignore[attr-defined]
        ]


def run_controls(app: Ordertrail, *, tenant_id: str, order_ids: list[str]) -> ControlsRun | None:
    """Exercise the controls on three of the orders; None if fewer than three have contracts."""
    chosen = orders_with_contracts(app, tenant_id=tenant_id, order_ids=order_ids)[:3]
    if len(chosen) < 3:
        return None
    held, disputed, overridden = chosen
    now = app.clock.now()
    ana = _key(app, tenant_id=tenant_id, role="revenue_accountant", owner="ana", now=now)
    ana_too = _key(app, tenant_id=tenant_id, role="controller", owner="ana", now=now)
    carl = _key(app, tenant_id=tenant_id, role="controller", owner="carl", now=now)
    controls = app.controls

    def place(order_id: str, *, reason: str, source: str, ref: str | None) -> str:
        hold = controls.place(
            tenant_id=tenant_id,
            order_id=order_id,
            line_id=None,
            obligation_id=None,
            reason_code=reason,
            source=source,
            source_ref=ref,
            actor=ana.actor,
            now=now,
        )
        return hold.hold_id

    # A hold placed and released by a controller.
    hold_id = place(held, reason="missing_pod", source="manual", ref=None)
    controls.release(
        tenant_id=tenant_id,
        hold_id=hold_id,
        requester=Party.of(carl),
        reason="proof of delivery arrived",
        now=now,
    )
    # A dispute opened through the disputes service (which holds the order), the signed delivery
    # receipt attached as evidence, and the dispute rejected by a controller: the hold lifts.
    dispute, _ = app.disputes.open(
        tenant_id=tenant_id,
        order_id=disputed,
        line_ids=(),
        reason_code="not_delivered",
        description="The customer says the parcel never arrived.",
        external_ref=DISPUTE_ID,
        channel="api",
        actor=ana.actor,
        now=now,
    )
    app.disputes.attach(
        tenant_id=tenant_id,
        dispute_id=dispute.dispute_id,
        kind="delivery_proof",
        filename="pod.txt",
        media_type="text/plain",
        content=f"Signed delivery receipt for order {disputed}".encode(),
        note="carrier proof of delivery",
        actor=carl.actor,
        now=now,
    )
    app.disputes.resolve(
        tenant_id=tenant_id,
        dispute_id=dispute.dispute_id,
        outcome="rejected",
        amount_minor=None,
        treatment="price_concession",
        note="signed delivery receipt",
        decider=Party.of(carl),
        decider_roles=carl.roles,
        now=now,
    )
    # An override: a legal hold's release needs two people.
    legal_hold = place(overridden, reason="legal", source="manual", ref=None)
    asked = controls.release(
        tenant_id=tenant_id,
        hold_id=legal_hold,
        requester=Party.of(ana),
        reason="legal cleared the contract",
        now=now,
    )
    if asked.request is None:
        raise RuntimeError("a legal hold was released without approval")
    request_id = asked.request.request_id
    try:
        app.approvals.approve(
            tenant_id=tenant_id,
            request_id=request_id,
            approver=Party.of(ana_too),
            approver_roles=ana_too.roles,
            now=now,
        )
    except SelfApproval as refusal:
        refused = refusal.code
    else:
        raise RuntimeError("the requester approved their own request")
    approved = app.approvals.approve(
        tenant_id=tenant_id,
        request_id=request_id,
        approver=Party.of(carl),
        approver_roles=carl.roles,
        now=now,
        note="checked legal's sign-off",
    )
    verified = audit.verify(store=app.audit, tenant_id=tenant_id, public_key_raw=None)
    [tenant] = verified.tenants
    return ControlsRun(
        held_order=held,
        disputed_order=disputed,
        override_order=overridden,
        request=approved,
        self_approval_code=refused,
        audit_records=tenant.records,
        audit_ok=verified.ok,
        audit_first_break=(
            f"{tenant.broken} broken, first: {tenant.breaks[0].detail}" if tenant.breaks else None
        ),
    )


def controls_table(run: ControlsRun) -> Table:
    table = Table("control", "order", "what happened", title="Revenue controls")
    table.add_row("hold", run.held_order, "missing_pod hold placed, then released by a controller")
    table.add_row(
        "dispute",
        run.disputed_order,
        f"dispute {DISPUTE_ID} opened (not_delivered), which held the order; delivery proof "
        "attached; rejected by a controller: hold released",
    )
    request = run.request
    table.add_row(
        "override",
        run.override_order,
        f"{request.kind} request {request.request_id} by {request.requester} "
        f"({request.requester_owner}); self-approval refused ({run.self_approval_code}); "
        f"{request.status} by {request.decided_by} ({request.decided_by_owner})",
    )
    table.add_row(
        "audit",
        "",
        f"chain of {run.audit_records:,} records verifies"
        if run.audit_ok
        else f"chain of {run.audit_records:,} records: {run.audit_first_break}",
    )
    return table
