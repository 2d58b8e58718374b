"""Revenue catalogs, settings and the facts people enter, over HTTP.

Catalog rows are versioned: a POST appends a new version of the SKU's templates (or of one SSP
row); where its effective range overlaps earlier versions it wins there. Bodies are the domain's
rows as JSON (docs/revenue/catalog.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ordertrail.domain.revenue import SspRow, TemplateVersion
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.entrypoints.api.routes_approvals import document as approval_document
from ordertrail.entrypoints.api.routes_revenue import REFUSALS, refusal_code
from ordertrail.services import catalog
from ordertrail.services.access import Action
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import Party
from ordertrail.services.keys import Principal
from ordertrail.services.overrides import request_treatment_change
from ordertrail.services.revenue_codec import to_plain
from ordertrail.services.revenue_commands import (
    ContractNotFound,
    ObligationNotFound,
    TreatmentNotChangeable,
    record_progress,
    satisfy_obligation,
)
from ordertrail.services.revenue_ports import CatalogKind, CatalogRecord, RevenueUnitOfWork

router = APIRouter(prefix="/v1/revenue", tags=["revenue"])

Reader = Annotated[Principal, Depends(require(Action.REVENUE_CATALOG_READ))]
Editor = Annotated[Principal, Depends(require(Action.REVENUE_CATALOG_WRITE))]
PolicyOwner = Annotated[Principal, Depends(require(Action.REVENUE_SETTINGS_WRITE))]
Recorder = Annotated[Principal, Depends(require(Action.REVENUE_FACTS_WRITE))]
Requester = Annotated[Principal, Depends(require(Action.REVENUE_TREATMENT_REQUEST))]
EVENT_ID_PATTERN = r"^[A-Za-z0-9._:/@-]{1,128}$"


def uow_factory(request: Request) -> Callable[[], RevenueUnitOfWork]:
    app = container(request)
    return lambda: cast(RevenueUnitOfWork, app.uow_factory())


def record_document(record: CatalogRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "sku": record.sku,
        "component": record.component or None,
        "currency": record.currency or None,
        "version": record.version,
        "effective_from": record.effective_from.isoformat(),
        "effective_to": None if record.effective_to is None else record.effective_to.isoformat(),
        "body": to_plain(record.body),
        "created_at": record.created_at.isoformat(),
        "created_by": record.created_by,
    }


async def _run(work: Callable[[], Any]) -> Any:
    try:
        return await run_in_threadpool(work)
    except catalog.CatalogFileInvalid as error:
        raise ApiError(422, "invalid_catalog_row", str(error)) from None
    except REFUSALS as error:
        raise ApiError(422, refusal_code(error), str(error)) from None
    except ContractNotFound as error:
        raise ApiError(404, "contract_not_found", f"no contract {error} for your tenant") from None
    except TreatmentNotChangeable as error:
        raise ApiError(409, "treatment_not_changeable", str(error)) from None
    except ObligationNotFound as error:
        raise ApiError(
            404, "obligation_not_found", f"no obligation {error} for your tenant"
        ) from None


async def _list(request: Request, principal: Principal, kind: CatalogKind, sku: str | None) -> Any:
    records = await _run(
        lambda: catalog.catalog_records(
            uow_factory=uow_factory(request), tenant_id=principal.tenant_id, kind=kind, sku=sku
        )
    )
    return {"items": [record_document(r) for r in records]}


async def _add(request: Request, principal: Principal, kind: CatalogKind, body: Any) -> Any:
    def work() -> list[CatalogRecord]:
        row: TemplateVersion | SspRow = catalog.parse_row(kind, body)
        return catalog.add_rows(
            uow_factory=uow_factory(request),
            tenant_id=principal.tenant_id,
            rows=[row],
            actor=principal.actor,
            now=container(request).clock.now(),
        )

    records = await _run(work)
    return record_document(records[0])


@router.get("/catalog/templates", summary="Obligation templates per SKU, every version")
async def list_templates(request: Request, principal: Reader, sku: str | None = None) -> Any:
    return await _list(request, principal, "template", sku)


@router.post(
    "/catalog/templates", status_code=201, summary="Add a version of a SKU's obligation templates"
)
async def add_template(request: Request, principal: Editor, body: dict[str, Any]) -> Any:
    return await _add(request, principal, "template", body)


@router.get("/catalog/ssp", summary="Standalone selling prices, every version")
async def list_ssp(request: Request, principal: Reader, sku: str | None = None) -> Any:
    return await _list(request, principal, "ssp", sku)


@router.post("/catalog/ssp", status_code=201, summary="Add a version of a standalone selling price")
async def add_ssp(request: Request, principal: Editor, body: dict[str, Any]) -> Any:
    return await _add(request, principal, "ssp", body)


@router.get("/settings", summary="The tenant's revenue policy choices")
async def get_settings(request: Request, principal: Reader) -> Any:
    settings = await _run(
        lambda: catalog.revenue_settings(
            uow_factory=uow_factory(request), tenant_id=principal.tenant_id
        )
    )
    return to_plain(settings)


@router.put("/settings", summary="Replace the tenant's revenue policy choices")
async def put_settings(request: Request, principal: PolicyOwner, body: dict[str, Any]) -> Any:
    def work() -> Any:
        return catalog.put_revenue_settings(
            uow_factory=uow_factory(request),
            tenant_id=principal.tenant_id,
            settings=catalog.parse_settings(body),
            actor=principal.actor,
            now=container(request).clock.now(),
        )

    return to_plain(await _run(work))


class ProgressBody(BaseModel):
    contract_id: str = Field(min_length=1, max_length=200, description="The obligation's contract.")
    event_id: str = Field(pattern=EVENT_ID_PATTERN, description="Your idempotency key.")
    occurred_on: date
    done: int = Field(ge=0, le=10**15, description="Costs incurred to date, minor units.")
    total: int = Field(gt=0, le=10**15, description="Total expected costs, minor units.")


class SatisfyBody(BaseModel):
    contract_id: str = Field(min_length=1, max_length=200, description="The obligation's contract.")
    event_id: str = Field(pattern=EVENT_ID_PATTERN, description="Your idempotency key.")
    occurred_on: date
    units: int = Field(ge=0, le=10_000_000, description="Units satisfied so far.")


def _obligation_answer(stored: Any, obligation_id: str) -> dict[str, Any]:
    state = stored.state
    ob = state.obligations[state.index_of(obligation_id)]
    return {
        "contract_id": state.contract_id,
        "obligation_id": obligation_id,
        "allocated_minor": ob.allocated_minor,
        "recognized_minor": ob.posted.revenue,
        "deferred_minor": ob.unrecognized_minor,
        "currency": state.currency,
    }


@router.post(
    "/obligations/{obligation_id:path}/progress",
    summary="Record cost-to-cost progress of an obligation (costs incurred of total expected)",
)
async def post_progress(
    request: Request, obligation_id: str, principal: Recorder, body: ProgressBody
) -> Any:
    stored = await _run(
        lambda: record_progress(
            uow_factory=uow_factory(request),
            tenant_id=principal.tenant_id,
            contract_id=body.contract_id,
            obligation_id=obligation_id,
            event_id=body.event_id,
            occurred_on=body.occurred_on,
            done=body.done,
            total=body.total,
            now=container(request).clock.now(),
        )
    )
    return _obligation_answer(stored, obligation_id)


@router.post(
    "/obligations/{obligation_id:path}/satisfy",
    summary="Record a milestone or manual satisfaction of an obligation (units satisfied)",
)
async def post_satisfy(
    request: Request, obligation_id: str, principal: Recorder, body: SatisfyBody
) -> Any:
    stored = await _run(
        lambda: satisfy_obligation(
            uow_factory=uow_factory(request),
            tenant_id=principal.tenant_id,
            contract_id=body.contract_id,
            obligation_id=obligation_id,
            event_id=body.event_id,
            occurred_on=body.occurred_on,
            units=body.units,
            now=container(request).clock.now(),
        )
    )
    return _obligation_answer(stored, obligation_id)


class TreatmentBody(BaseModel):
    treatment: Literal["separate_contract", "prospective", "cumulative_catch_up"]
    reason: str = Field(min_length=1, max_length=500, description="Why the rules' choice is wrong.")


@router.post(
    "/contracts/{contract_id}/modifications/{version}/treatment",
    status_code=202,
    summary="Request another treatment for a contract's latest modification (dual approval)",
)
async def post_treatment(
    request: Request, contract_id: str, version: int, principal: Requester, body: TreatmentBody
) -> Any:
    """Store a `modification.treatment` approval request; it is applied only when a different
    person with the controller role approves it (POST /v1/approvals/{id}/approve)."""
    app = container(request)

    def work() -> ApprovalRequest:
        with app.uow_factory() as uow:
            created = request_treatment_change(
                uow=uow,
                registry=app.approval_kinds,
                tenant_id=principal.tenant_id,
                contract_id=contract_id,
                version=version,
                treatment=body.treatment,
                reason=body.reason,
                requester=Party.of(principal),
                now=app.clock.now(),
                request_id=app.new_id(),
            )
            uow.commit()
        return created

    created = await _run(work)
    return approval_document(created)
