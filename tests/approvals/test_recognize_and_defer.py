"""`recognize_now` and `defer` overrides: applied on approval, refused under a hold, audited."""

from __future__ import annotations

from typing import Any, cast

import pytest

from ordertrail.adapters.memory.audit import MemoryAuditStore
from ordertrail.bootstrap import default_approval_kinds
from ordertrail.domain.revenue import ObligationTemplate, SspRow, TemplateVersion
from ordertrail.services import holds
from ordertrail.services.approvals import (
    ApprovalFailed,
    Approvals,
    InvalidApprovalRequest,
    Party,
)
from ordertrail.services.audit import verify
from ordertrail.services.controls_ports import ControlsUnitOfWork
from tests.conftest import NOW
from tests.revenue.books import Books, line, message
from tests.revenue.support import FROM, TENANT

ANA = Party(actor="key:ana", owner="ana")
CARL = Party(actor="key:carl", owner="carl")
INSTALL: list[TemplateVersion | SspRow] = [
    TemplateVersion(
        sku="INSTALL",
        effective_from=FROM,
        templates=(
            ObligationTemplate(
                component="install",
                nature="service",
                timing="point_in_time",
                trigger="manual",
            ),
        ),
    ),
    SspRow(
        sku="INSTALL", component="install", currency="USD", effective_from=FROM, unit_ssp_minor=5000
    ),
]


def books_with_installation() -> Books:
    books = Books()
    with books.uow() as uow:
        for row in INSTALL:
            uow.catalog.add(tenant_id=TENANT, body=row, created_at=NOW, created_by="t")
        uow.commit()
    books.handle(message("order.confirmed", [line("1", "INSTALL", 5000, 1)]))
    return books


def approvals_of(books: Books) -> Approvals:
    ids = iter(f"req-{n}" for n in range(1, 100))
    return Approvals(
        uow_factory=books.storage.uow_factory,
        registry=default_approval_kinds(),
        new_id=lambda: next(ids),
    )


def override(approvals: Approvals, kind: str, payload: dict[str, Any]) -> str:
    return approvals.request(
        tenant_id=TENANT,
        kind=kind,
        subject="obligation:ctr-SO-1/1/install",
        payload=payload,
        reason="installed on site, customer signed",
        requester=ANA,
        now=NOW,
    ).request_id


def approve(approvals: Approvals, request_id: str) -> Any:
    return approvals.approve(
        tenant_id=TENANT,
        request_id=request_id,
        approver=CARL,
        approver_roles=("controller",),
        now=NOW,
    )


def recognized(books: Books) -> int:
    stored = books.contract()
    return sum(ob.posted.revenue for ob in stored.state.obligations)


def test_recognize_now_recognizes_the_obligation_only_once_approved() -> None:
    books = books_with_installation()
    approvals = approvals_of(books)
    request_id = override(
        approvals,
        "recognize_now",
        {"contract_id": "ctr-SO-1", "obligation_id": "1/install", "units": 1},
    )
    assert recognized(books) == 0
    decided = approve(approvals, request_id)
    assert recognized(books) == 5000
    assert decided.result["recognized_minor"] == 5000
    store = MemoryAuditStore(books.storage.database.audit, books.storage.database.revenue)
    assert verify(store=store, tenant_id=TENANT, public_key_raw=None).ok


def test_recognize_now_is_refused_under_a_hold_and_fails_the_request() -> None:
    books = books_with_installation()
    approvals = approvals_of(books)
    request_id = override(
        approvals,
        "recognize_now",
        {"contract_id": "ctr-SO-1", "obligation_id": "1/install", "units": 1},
    )
    with books.storage.uow_factory() as uow:
        holds.place_hold(
            uow=cast(ControlsUnitOfWork, uow),
            tenant_id=TENANT,
            order_id="SO-1",
            reason_code="credit",
            source="credit",
            actor="system:billing",
            now=NOW,
        )
        uow.commit()
    with pytest.raises(ApprovalFailed, match="held by"):
        approve(approvals, request_id)
    assert recognized(books) == 0


def test_defer_holds_the_obligation_back_until_released() -> None:
    books = books_with_installation()
    approvals = approvals_of(books)
    request_id = override(
        approvals, "defer", {"contract_id": "ctr-SO-1", "obligation_id": "1/install"}
    )
    hold_id = approve(approvals, request_id).result["hold_id"]
    with books.storage.uow_factory() as uow:
        [hold] = holds.open_holds(
            uow=cast(ControlsUnitOfWork, uow), tenant_id=TENANT, order_id="SO-1"
        )
    assert (hold.hold_id, hold.obligation_id, hold.reason_code) == (
        hold_id,
        "1/install",
        "deferred_by_override",
    )
    held = override(
        approvals,
        "recognize_now",
        {"contract_id": "ctr-SO-1", "obligation_id": "1/install", "units": 1},
    )
    with pytest.raises(ApprovalFailed, match="held by"):
        approve(approvals, held)


def test_payloads_are_checked_when_requested() -> None:
    approvals = approvals_of(books_with_installation())
    with pytest.raises(InvalidApprovalRequest, match="units"):
        override(approvals, "recognize_now", {"contract_id": "c", "obligation_id": "o"})
    with pytest.raises(InvalidApprovalRequest, match="obligation"):
        override(approvals, "defer", {"contract_id": "c"})
