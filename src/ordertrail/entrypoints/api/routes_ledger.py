"""The ledger over HTTP: the chart of accounts, periods, and the month-end close."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ordertrail.domain.ledger import InvalidPeriod
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.entrypoints.api.routes_catalog import uow_factory
from ordertrail.services import catalog
from ordertrail.services.access import Action
from ordertrail.services.close import CloseSummary, run_close
from ordertrail.services.keys import Principal
from ordertrail.services.revenue_ports import AccountRecord, PeriodRecord

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

Reader = Annotated[Principal, Depends(require(Action.LEDGER_READ))]
AccountEditor = Annotated[Principal, Depends(require(Action.LEDGER_ACCOUNTS_WRITE))]
Closer = Annotated[Principal, Depends(require(Action.PERIODS_CLOSE))]
PeriodKey = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


def account_document(account: AccountRecord) -> dict[str, Any]:
    return {
        "code": account.code,
        "name": account.name,
        "kind": account.kind,
        "gl_code": account.gl_code,
        "active": account.active,
    }


def period_document(period: PeriodRecord) -> dict[str, Any]:
    return {
        "period": period.period,
        "status": period.status,
        "closed_at": None if period.closed_at is None else period.closed_at.isoformat(),
        "closed_by": period.closed_by,
    }


def close_document(summary: CloseSummary) -> dict[str, Any]:
    return {
        "period": summary.period,
        "already_closed": summary.already_closed,
        "entries": summary.entries,
        "obligations_seen": summary.obligations_seen,
        "obligations_completed": summary.obligations_completed,
        "amounts": [
            {"account": account, "currency": currency, "amount_minor": amount}
            for (account, currency), amount in sorted(summary.amounts_minor.items())
        ],
    }


@router.get("/accounts", summary="The chart of accounts (seeded from the default on first use)")
async def list_accounts(request: Request, principal: Reader) -> Any:
    found = await run_in_threadpool(
        lambda: catalog.accounts(
            uow_factory=uow_factory(request),
            tenant_id=principal.tenant_id,
            now=container(request).clock.now(),
        )
    )
    return {"items": [account_document(a) for a in found]}


class AccountPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    gl_code: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None


@router.patch("/accounts/{code}", summary="Edit an account's name, external GL code or active flag")
async def patch_account(
    request: Request, code: str, principal: AccountEditor, body: AccountPatch
) -> Any:
    updated = await run_in_threadpool(
        lambda: catalog.update_account(
            uow_factory=uow_factory(request),
            tenant_id=principal.tenant_id,
            code=code,
            name=body.name,
            gl_code=body.gl_code,
            active=body.active,
            now=container(request).clock.now(),
        )
    )
    if updated is None:
        raise ApiError(404, "account_not_found", f"no account {code} in your chart")
    return account_document(updated)


@router.get("/periods", summary="Periods with a status row; a month without one is open")
async def list_periods(request: Request, principal: Reader) -> Any:
    found = await run_in_threadpool(
        lambda: catalog.periods(uow_factory=uow_factory(request), tenant_id=principal.tenant_id)
    )
    return {"items": [period_document(p) for p in found]}


@router.post(
    "/periods/{period}/close",
    summary="Month-end close: recognize what is due through the period end, then close it",
)
async def close_period(request: Request, period: PeriodKey, principal: Closer) -> Any:
    app = container(request)
    try:
        summary = await run_in_threadpool(
            lambda: run_close(
                uow_factory=uow_factory(request),
                tenant_id=principal.tenant_id,
                period=period,
                actor=principal.actor,
                now=app.clock.now,
            )
        )
    except InvalidPeriod as error:
        raise ApiError(422, "invalid_period", str(error)) from None
    return close_document(summary)
