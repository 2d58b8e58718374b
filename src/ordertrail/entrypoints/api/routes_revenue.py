"""Revenue: preview a contract's obligations, allocation and schedule, storing nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from ordertrail.domain.money import MoneyError, UnknownCurrency
from ordertrail.domain.revenue.errors import (
    CreditExceedsBilled,
    DiscountEvidenceMismatch,
    InvalidContract,
    InvalidFact,
    InvalidTemplate,
    NoSsp,
    NoTemplate,
    OverlappingVersions,
    ResidualNotAppropriate,
)
from ordertrail.domain.revenue.preview import preview
from ordertrail.domain.revenue.preview_format import PreviewRequest
from ordertrail.entrypoints.api.auth import require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal

router = APIRouter(prefix="/v1/revenue", tags=["revenue"])

# The error code of each way the revenue domain refuses a contract, all documented in
# docs/integrators/README.md. Only these are the caller's to fix: PositionOutOfBalance, the other
# RevenueError, is a broken invariant and stays a server error.
REFUSAL_CODES: dict[type[Exception], str] = {
    InvalidContract: "invalid_contract",
    InvalidTemplate: "invalid_template",
    OverlappingVersions: "overlapping_versions",
    NoTemplate: "no_template",
    NoSsp: "no_ssp",
    DiscountEvidenceMismatch: "discount_evidence_mismatch",
    ResidualNotAppropriate: "residual_not_appropriate",
    InvalidFact: "invalid_fact",
    CreditExceedsBilled: "credit_exceeds_billed",
    MoneyError: "invalid_amount",
    UnknownCurrency: "unknown_currency",
}
REFUSALS = tuple(REFUSAL_CODES)


def refusal_code(error: Exception) -> str:
    """The error code of a domain refusal: its class's, else its nearest listed base class's."""
    return next(REFUSAL_CODES[cls] for cls in type(error).__mro__ if cls in REFUSAL_CODES)


@router.post(
    "/preview",
    summary="Preview a contract: obligations, allocation and revenue by period; stores nothing",
)
async def preview_contract(
    body: PreviewRequest,
    _principal: Annotated[Principal, Depends(require(Action.REVENUE_PREVIEW))],
) -> dict[str, Any]:
    """Run the revenue engine over the described contract and return what it produced.

    The body's format and examples are in docs/revenue/preview.md. Amounts are decimal strings in
    the contract's currency, exactly as the engine's integer minor units give them.
    """
    try:
        # A long schedule is CPU work; keep it off the event loop.
        result: dict[str, Any] = await run_in_threadpool(preview, request=body)
    except REFUSALS as error:
        raise ApiError(422, refusal_code(error), str(error)) from None
    return result
