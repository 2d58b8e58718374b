"""Where is this order, and why: the order, its timeline, lists, and the quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from ordertrail.domain.orders import OrderStatus
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal

router = APIRouter(prefix="/v1", tags=["orders"])

LIMIT_MAX = 500
Reader = Annotated[Principal, Depends(require(Action.ORDERS_READ))]


def _not_found(order_id: str) -> ApiError:
    # The same answer whether the order is missing or another tenant's: no existence oracle.
    return ApiError(404, "order_not_found", f"no order {order_id!r} for this tenant")


def _cursor_error(error: ValueError) -> ApiError:
    return ApiError(
        422,
        "invalid_cursor",
        str(error),
        fields=[{"loc": "cursor", "code": "invalid_cursor", "message": str(error)}],
    )


# Order ids may contain '/' (see IDENTIFIER_PATTERN), and the path is percent-decoded before
# routing, so both routes take the id as a `path`; the timeline route comes first so that
# ".../timeline" is not read as part of an id. (An id that itself ends in "/timeline" is read
# as that order's timeline.)
@router.get(
    "/orders/{order_id:path}/timeline", summary="Every event and transition, in occurred_at order"
)
async def get_timeline(request: Request, order_id: str, principal: Reader) -> dict[str, Any]:
    timeline = await run_in_threadpool(
        container(request).queries.timeline, tenant_id=principal.tenant_id, order_id=order_id
    )
    if timeline is None:
        raise _not_found(order_id)
    return timeline


@router.get("/orders/{order_id:path}", summary="An order's current state")
async def get_order(request: Request, order_id: str, principal: Reader) -> dict[str, Any]:
    order = await run_in_threadpool(
        container(request).queries.get_order, tenant_id=principal.tenant_id, order_id=order_id
    )
    if order is None:
        raise _not_found(order_id)
    return order


@router.get("/orders", summary="Orders, newest update first, with keyset pagination")
async def list_orders(
    *,
    request: Request,
    principal: Reader,
    status: OrderStatus | None = None,
    updated_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    if updated_before is not None and updated_before.tzinfo is None:
        raise ApiError(422, "naive_timestamp", "updated_before needs a time zone, e.g. ...Z")
    try:
        page = await run_in_threadpool(
            container(request).queries.list_orders,
            tenant_id=principal.tenant_id,
            status=None if status is None else status.value,
            updated_before=updated_before,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as error:
        raise _cursor_error(error) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/quarantine", summary="Rejected submissions with their reasons", tags=["quarantine"])
async def list_quarantine(
    *,
    request: Request,
    principal: Annotated[Principal, Depends(require(Action.QUARANTINE_READ))],
    order_id: str | None = None,
    reason_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    try:
        page = await run_in_threadpool(
            container(request).queries.list_quarantine,
            tenant_id=principal.tenant_id,
            order_id=order_id,
            reason_code=reason_code,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as error:
        raise _cursor_error(error) from None
    return {"items": page.items, "next_cursor": page.next_cursor}
