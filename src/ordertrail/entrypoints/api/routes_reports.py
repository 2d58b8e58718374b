"""Revenue reports over HTTP: waterfall, deferred-revenue rollforward, RPO and trial balance.

Each answers JSON (money as integer minor units beside the currency) or, with `?format=csv` or
`Accept: text/csv`, the same figures as a CSV download (docs/revenue/reports.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from ordertrail.domain.ledger import month_index, period_key
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services import reports
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal
from ordertrail.services.report_csv import csv_text, filename_of
from ordertrail.services.report_ports import ReportTooLarge
from ordertrail.services.reports import PERIODS_MAX, ROWS_MAX, Document, InvalidReportRequest

router = APIRouter(prefix="/v1/reports", tags=["reports"])

Reader = Annotated[Principal, Depends(require(Action.REPORTS_READ))]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="csv for a download; default JSON, or CSV when Accept asks for text/csv"),
]
Period = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
GroupBy = Literal["contract", "obligation", "customer"]
Limit = Annotated[int, Query(ge=1, le=ROWS_MAX, description="rows shown; totals cover all")]
ROWS_DEFAULT = 1000


def refused(error: InvalidReportRequest) -> ApiError:
    """A 422 naming the parameter and the problem, for every report and the journal."""
    return ApiError(
        422,
        error.code,
        str(error),
        fields=[{"loc": error.field, "code": error.code, "message": str(error)}],
    )


def wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


def this_month(request: Request) -> str:
    return period_key(month_index(container(request).clock.now().date()))


async def answer(
    request: Request, format: str | None, build: Callable[[], Document]
) -> Response | dict[str, Any]:
    """Build the report off the event loop and answer it as JSON or as a CSV download."""
    try:
        document = await run_in_threadpool(build)
    except InvalidReportRequest as error:
        raise refused(error) from None
    except ReportTooLarge as error:
        raise ApiError(
            422, "report_too_large", f"{error}; ask for fewer periods or one period at a time"
        ) from None
    if not wants_csv(request, format):
        return document.body
    return Response(
        content=csv_text(document),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename_of(document)}"'},
    )


@router.get("/waterfall", summary="Deferred revenue by the period it is expected in")
async def get_waterfall(
    *,
    request: Request,
    principal: Reader,
    group_by: GroupBy = "contract",
    from_period: Annotated[Period, Query(alias="from")] = None,
    periods: Annotated[int, Query(ge=1, le=PERIODS_MAX)] = 12,
    limit: Limit = ROWS_DEFAULT,
    format: Format = None,
) -> Any:
    first = from_period or this_month(request)
    return await answer(
        request,
        format,
        lambda: reports.waterfall_report(
            queries=container(request).reports,
            tenant_id=principal.tenant_id,
            group_by=group_by,
            first_period=first,
            periods=periods,
            rows_max=limit,
        ),
    )


@router.get(
    "/deferred-rollforward",
    summary="Opening + billed - recognized + adjustments = closing, per period and currency",
)
async def get_rollforward(
    *,
    request: Request,
    principal: Reader,
    from_period: Annotated[Period, Query(alias="from")] = None,
    to_period: Annotated[Period, Query(alias="to")] = None,
    format: Format = None,
) -> Any:
    last = to_period or this_month(request)
    first = from_period or last
    return await answer(
        request,
        format,
        lambda: reports.rollforward_report(
            queries=container(request).reports,
            tenant_id=principal.tenant_id,
            first_period=first,
            last_period=last,
        ),
    )


@router.get("/rpo", summary="Remaining performance obligations, within 12 months and beyond")
async def get_rpo(
    *,
    request: Request,
    principal: Reader,
    as_of: Period = None,
    group_by: GroupBy = "contract",
    limit: Limit = ROWS_DEFAULT,
    format: Format = None,
) -> Any:
    at = as_of or this_month(request)
    return await answer(
        request,
        format,
        lambda: reports.rpo_report(
            queries=container(request).reports,
            tenant_id=principal.tenant_id,
            as_of=at,
            group_by=group_by,
            rows_max=limit,
        ),
    )


@router.get("/trial-balance", summary="Balances per account and currency; sums to zero")
async def get_trial_balance(
    *,
    request: Request,
    principal: Reader,
    period: Period = None,
    as_of: Period = None,
    format: Format = None,
) -> Any:
    through = as_of or (None if period is not None else this_month(request))
    return await answer(
        request,
        format,
        lambda: reports.trial_balance(
            queries=container(request).reports,
            tenant_id=principal.tenant_id,
            period=period,
            as_of=through,
        ),
    )
