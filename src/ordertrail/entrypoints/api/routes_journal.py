"""The journal over HTTP: entries with their postings, filtered and keyset-paginated; one entry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.entrypoints.api.routes_reports import Format, Period, answer
from ordertrail.services import reports
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal
from ordertrail.services.report_ports import JOURNAL_PAGE_MAX, JournalFilter

router = APIRouter(prefix="/v1/journal", tags=["journal"])

Reader = Annotated[Principal, Depends(require(Action.JOURNAL_READ))]


@router.get("", summary="Journal entries in posting-date order, with their postings")
async def list_journal(
    *,
    request: Request,
    principal: Reader,
    period: Period = None,
    account: str | None = None,
    contract_id: str | None = None,
    obligation_id: str | None = None,
    kind: str | None = None,
    cause_event_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=JOURNAL_PAGE_MAX)] = 100,
    cursor: str | None = None,
    format: Format = None,
) -> Any:
    filters = JournalFilter(
        period=period,
        account=account,
        contract_id=contract_id,
        obligation_id=obligation_id,
        kind=kind,
        cause_event_id=cause_event_id,
    )
    return await answer(
        request,
        format,
        lambda: reports.journal_page(
            queries=container(request).reports,
            tenant_id=principal.tenant_id,
            filters=filters,
            limit=limit,
            cursor=cursor,
        ),
    )


@router.get("/{entry_id}", summary="One journal entry, its postings and what reverses it")
async def get_entry(request: Request, entry_id: str, principal: Reader) -> dict[str, Any]:
    entry = await run_in_threadpool(
        reports.journal_entry,
        queries=container(request).reports,
        tenant_id=principal.tenant_id,
        entry_id=entry_id,
    )
    if entry is None:
        # The same answer for another tenant's entry as for a missing one.
        raise ApiError(404, "entry_not_found", f"no journal entry {entry_id!r} for this tenant")
    return entry
