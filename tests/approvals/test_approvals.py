"""Dual approval on in-memory storage: who may approve, when, and what approving does."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest

from ordertrail.adapters.memory import MemoryStorage
from ordertrail.adapters.memory.audit import MemoryAuditStore
from ordertrail.services.approval_ports import ApprovalFilter
from ordertrail.services.approvals import (
    ApprovalClosed,
    ApprovalFailed,
    ApprovalRoleMissing,
    Approvals,
    ExecutorRegistry,
    InvalidApprovalRequest,
    Party,
    SelfApproval,
    UnknownKind,
)
from tests.conftest import NOW

TENANT = "acme"
ALICE = Party(actor="key:alice1", owner="Alice")
ALICE_OTHER_KEY = Party(actor="key:alice2", owner="alice ")
BOB = Party(actor="key:bob1", owner="Bob")
CONTROLLER = ("controller",)


class Recorder:
    """An executor that records what it was asked, or refuses when told to."""

    def __init__(self) -> None:
        self.calls: list[Mapping[str, Any]] = []
        self.refuse = False

    def __call__(
        self, *, uow: Any, tenant_id: str, payload: Mapping[str, Any], actor: str, now: datetime
    ) -> Mapping[str, Any] | None:
        self.calls.append(payload)
        if self.refuse:
            raise ValueError("the books moved")
        return {"applied": payload["order_id"], "by": actor}


def check(payload: Mapping[str, Any]) -> None:
    if "order_id" not in payload:
        raise ValueError("name the order")


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def executor() -> Recorder:
    return Recorder()


@pytest.fixture
def approvals(storage: MemoryStorage, executor: Recorder) -> Approvals:
    registry = ExecutorRegistry()
    registry.register_executor("recognize_now", "controller", executor, check=check)
    ids = count(1)
    return Approvals(
        uow_factory=storage.uow_factory, registry=registry, new_id=lambda: f"req-{next(ids)}"
    )


def ask(approvals: Approvals, *, by: Party = ALICE, now: datetime = NOW) -> str:
    return approvals.request(
        tenant_id=TENANT,
        kind="recognize_now",
        subject="order:SO-1",
        payload={"order_id": "SO-1"},
        reason="customer confirmed receipt by phone",
        requester=by,
        now=now,
    ).request_id


def audit_kinds(storage: MemoryStorage) -> list[str]:
    store = MemoryAuditStore(storage.database.audit, storage.database.revenue)
    return [r.kind for r in store.records(tenant_id=TENANT)]


def test_a_request_takes_effect_only_when_another_person_with_the_role_approves(
    approvals: Approvals, executor: Recorder, storage: MemoryStorage
) -> None:
    request_id = ask(approvals)
    assert executor.calls == []
    assert approvals.get(tenant_id=TENANT, request_id=request_id).status == "requested"

    decided = approvals.approve(
        tenant_id=TENANT,
        request_id=request_id,
        approver=BOB,
        approver_roles=CONTROLLER,
        now=NOW + timedelta(hours=1),
        note="checked the call log",
    )

    assert executor.calls == [{"order_id": "SO-1", "request_id": request_id}]
    assert decided.status == "approved"
    assert decided.decided_by == "key:bob1"
    assert decided.result == {"applied": "SO-1", "by": "key:bob1"}
    stored = approvals.get(tenant_id=TENANT, request_id=request_id)
    assert stored == decided
    assert audit_kinds(storage) == ["approval.requested", "approval.approved", "override.applied"]


@pytest.mark.parametrize("approver", [ALICE, ALICE_OTHER_KEY], ids=["same key", "same owner"])
def test_nobody_approves_their_own_request_by_key_or_by_owner(
    approvals: Approvals, executor: Recorder, approver: Party
) -> None:
    request_id = ask(approvals)
    with pytest.raises(SelfApproval):
        approvals.approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=approver,
            approver_roles=CONTROLLER,
            now=NOW,
        )
    assert executor.calls == []
    assert approvals.get(tenant_id=TENANT, request_id=request_id).status == "requested"


def test_keys_without_owners_are_told_apart_by_key_only(approvals: Approvals) -> None:
    request_id = ask(approvals, by=Party(actor="key:k1"))
    decided = approvals.approve(
        tenant_id=TENANT,
        request_id=request_id,
        approver=Party(actor="key:k2"),
        approver_roles=CONTROLLER,
        now=NOW,
    )
    assert decided.status == "approved"


def test_an_approver_without_the_kinds_role_is_refused_and_the_request_stays_open(
    approvals: Approvals, executor: Recorder
) -> None:
    request_id = ask(approvals)
    with pytest.raises(ApprovalRoleMissing):
        approvals.approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=BOB,
            approver_roles=("admin", "revenue_accountant"),
            now=NOW,
        )
    assert executor.calls == []
    assert approvals.get(tenant_id=TENANT, request_id=request_id).status == "requested"


def test_a_decided_request_cannot_be_decided_again(approvals: Approvals) -> None:
    request_id = ask(approvals)
    approvals.approve(
        tenant_id=TENANT, request_id=request_id, approver=BOB, approver_roles=CONTROLLER, now=NOW
    )
    with pytest.raises(ApprovalClosed, match="already approved"):
        approvals.approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=Party(actor="key:carol"),
            approver_roles=CONTROLLER,
            now=NOW,
        )
    with pytest.raises(ApprovalClosed):
        approvals.reject(tenant_id=TENANT, request_id=request_id, decider=BOB, now=NOW)


def test_an_expired_request_cannot_be_approved_and_the_job_marks_and_audits_it(
    approvals: Approvals, executor: Recorder, storage: MemoryStorage
) -> None:
    request_id = ask(approvals)
    later = NOW + timedelta(days=3)
    with pytest.raises(ApprovalClosed, match="expired"):
        approvals.approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=BOB,
            approver_roles=CONTROLLER,
            now=later,
        )
    assert approvals.expire_due(now=later - timedelta(seconds=1)) == []
    [expired] = approvals.expire_due(now=later)
    assert expired.request_id == request_id
    assert expired.status == "expired"
    assert approvals.expire_due(now=later) == []
    assert executor.calls == []
    assert audit_kinds(storage) == ["approval.requested", "approval.expired"]


def test_an_executor_error_keeps_nothing_and_marks_the_request_failed(
    approvals: Approvals, executor: Recorder, storage: MemoryStorage
) -> None:
    request_id = ask(approvals)
    executor.refuse = True
    with pytest.raises(ApprovalFailed, match="the books moved"):
        approvals.approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=BOB,
            approver_roles=CONTROLLER,
            now=NOW,
        )
    failed = approvals.get(tenant_id=TENANT, request_id=request_id)
    assert failed.status == "failed"
    assert failed.result == {"error": "the books moved"}
    # The approval and override records of the failed attempt were rolled back with it.
    assert audit_kinds(storage) == ["approval.requested", "approval.failed"]


def test_a_requester_may_withdraw_their_request_by_rejecting_it(
    approvals: Approvals, storage: MemoryStorage
) -> None:
    request_id = ask(approvals)
    rejected = approvals.reject(
        tenant_id=TENANT, request_id=request_id, decider=ALICE, now=NOW, note="withdrawn"
    )
    assert (rejected.status, rejected.decided_by, rejected.decision_note) == (
        "rejected",
        "key:alice1",
        "withdrawn",
    )
    assert audit_kinds(storage) == ["approval.requested", "approval.rejected"]


def test_requests_are_checked_when_made(approvals: Approvals) -> None:
    base: dict[str, Any] = {
        "tenant_id": TENANT,
        "subject": "order:SO-1",
        "reason": "r",
        "requester": ALICE,
        "now": NOW,
    }
    with pytest.raises(UnknownKind, match="recognize_now"):
        approvals.request(kind="recognise_now", payload={"order_id": "SO-1"}, **base)
    with pytest.raises(InvalidApprovalRequest, match="name the order"):
        approvals.request(kind="recognize_now", payload={}, **base)
    with pytest.raises(InvalidApprovalRequest, match="30 days"):
        approvals.request(
            kind="recognize_now",
            payload={"order_id": "SO-1"},
            expires_at=NOW + timedelta(days=31),
            **base,
        )
    with pytest.raises(InvalidApprovalRequest, match="reason"):
        approvals.request(
            kind="recognize_now", payload={"order_id": "SO-1"}, **{**base, "reason": " "}
        )


def test_listing_pages_newest_first_and_filters(approvals: Approvals) -> None:
    ids = [ask(approvals, now=NOW + timedelta(minutes=i)) for i in range(5)]
    approvals.reject(tenant_id=TENANT, request_id=ids[0], decider=BOB, now=NOW)
    first = approvals.find(tenant_id=TENANT, where=ApprovalFilter(), limit=2)
    assert [r.request_id for r in first] == [ids[4], ids[3], ids[2]]
    rest = approvals.find(
        tenant_id=TENANT,
        where=ApprovalFilter(),
        after=(first[1].requested_at, first[1].request_id),
        limit=10,
    )
    assert [r.request_id for r in rest] == [ids[2], ids[1], ids[0]]
    open_only = approvals.find(tenant_id=TENANT, where=ApprovalFilter(status="requested"))
    assert ids[0] not in {r.request_id for r in open_only}
    assert approvals.find(tenant_id="other", where=ApprovalFilter()) == []
