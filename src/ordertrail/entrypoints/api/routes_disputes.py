"""Disputes over HTTP: customer-service portals open them, attach evidence, and read them;
controllers resolve them; a service desk opens them through a signed webhook.

`POST /v1/disputes/webhook/{token}` is called by the service desk, not by a holder of an API key:
the token names the tenant's endpoint and an HMAC-SHA256 over the timestamp and raw body
authenticates the call (docs/revenue/disputes.md). It fails closed: no secret configured, a bad
signature or a stale timestamp is 401 and nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ordertrail.domain.disputes import (
    EVIDENCE_BYTES_MAX,
    DisputeError,
    DisputeReason,
    EvidenceTooLarge,
)
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.entrypoints.api.routes_controls import request_document
from ordertrail.services.access import Action, Role
from ordertrail.services.approvals import ApprovalError, Party
from ordertrail.services.dispute_ports import DISPUTES_PAGE_MAX, Dispute, DisputeFilter
from ordertrail.services.disputes import dispute_document, evidence_document, reason_document
from ordertrail.services.keys import Principal
from ordertrail.services.pagination import cursor_time, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])
Reader = Annotated[Principal, Depends(require(Action.DISPUTES_READ))]
Opener = Annotated[Principal, Depends(require(Action.DISPUTES_OPEN))]
Attacher = Annotated[Principal, Depends(require(Action.DISPUTES_EVIDENCE))]
Resolver = Annotated[Principal, Depends(require(Action.DISPUTES_RESOLVE))]
Configurer = Annotated[Principal, Depends(require(Action.DISPUTES_CONFIGURE))]
WebhookManager = Annotated[Principal, Depends(require(Action.DISPUTES_WEBHOOK_MANAGE))]
Token = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Id = Annotated[str, Path(min_length=1, max_length=64)]


async def _run(work: Callable[[], Any]) -> Any:
    try:
        return await run_in_threadpool(work)
    except DisputeError as error:
        raise ApiError(error.status, error.code, str(error)) from None
    except ApprovalError as error:
        raise ApiError(422, error.code, str(error)) from None


class NewDispute(BaseModel):
    """A customer's dispute of an order, or of some of its lines."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=128)
    line_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=200, description="None: the whole order is disputed."
    )
    reason_code: str = Field(min_length=1, max_length=48, examples=["damaged"])
    description: str = Field(min_length=1, max_length=2000)
    external_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The portal's case id: the same reference again returns the same dispute.",
    )


class EvidenceUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal[
        "delivery_proof", "customer_acceptance", "legal_signoff", "correspondence", "other"
    ]
    filename: str = Field(min_length=1, max_length=200)
    media_type: str = Field(default="application/octet-stream", min_length=1, max_length=100)
    content_base64: str = Field(min_length=1, max_length=(EVIDENCE_BYTES_MAX // 3 + 1) * 4)
    note: str = Field(default="", max_length=2000)


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "rejected"]
    amount_minor: int | None = Field(default=None, gt=0, description="Upheld: the reversal.")
    treatment: Literal["price_concession", "refund"] = "price_concession"
    note: str = Field(min_length=1, max_length=2000)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=2000)
    required_evidence: list[str] = Field(default_factory=list, max_length=5)
    signer_role: str = Field(default="controller", max_length=32)
    second_approval: bool = False
    active: bool = True


class SecretRequest(BaseModel):
    secret: str = Field(min_length=1, max_length=500, description="The HMAC signing secret.")


def _opened(response: Response, opened: tuple[Dispute, bool]) -> dict[str, Any]:
    dispute, created = opened
    response.status_code = 201 if created else 200
    return dispute_document(dispute)


@router.post("", status_code=201, summary="Open a dispute: its lines' revenue is held")
async def post_dispute(
    request: Request, response: Response, principal: Opener, body: NewDispute
) -> Any:
    app = container(request)
    opened = await _run(
        lambda: app.disputes.open(
            tenant_id=principal.tenant_id,
            order_id=body.order_id,
            line_ids=body.line_ids,
            reason_code=body.reason_code,
            description=body.description,
            external_ref=body.external_ref,
            channel="api",
            actor=principal.actor,
            now=app.clock.now(),
        )
    )
    return _opened(response, opened)


@router.get("", summary="Disputes, newest first")
async def list_disputes(
    request: Request,
    principal: Reader,
    *,
    status: Literal["open", "upheld", "rejected"] | None = None,
    order_id: str | None = Query(default=None, max_length=128),
    reason_code: str | None = Query(default=None, max_length=48),
    limit: int = Query(default=50, ge=1, le=DISPUTES_PAGE_MAX),
    cursor: str | None = None,
) -> Any:
    after: tuple[datetime, str] | None = None
    if cursor is not None:
        try:
            at, dispute_id = decode_cursor(cursor, arity=2)
            after = (cursor_time(at), dispute_id)
        except ValueError as error:
            raise ApiError(
                422,
                "invalid_cursor",
                str(error),
                fields=[{"loc": "cursor", "code": "invalid_cursor", "message": str(error)}],
            ) from None
    where = DisputeFilter(status=status, order_id=order_id, reason_code=reason_code)
    rows: list[Dispute] = await _run(
        lambda: container(request).disputes.page(
            tenant_id=principal.tenant_id, where=where, after=after, limit=limit
        )
    )
    shown = rows[:limit]
    next_cursor = (
        encode_cursor(shown[-1].opened_at.isoformat(), shown[-1].dispute_id)
        if len(rows) > limit
        else None
    )
    return {"items": [dispute_document(d) for d in shown], "next_cursor": next_cursor}


@router.get("/reasons", summary="The dispute reasons and their evidence thresholds")
async def get_reasons(request: Request, principal: Reader) -> Any:
    reasons = await _run(lambda: container(request).disputes.reasons(tenant_id=principal.tenant_id))
    return {"items": [reason_document(r) for r in reasons]}


@router.put("/reasons/{code}", summary="Add or change a dispute reason and its threshold")
async def put_reason(
    request: Request,
    principal: Configurer,
    code: Annotated[str, Path(min_length=1, max_length=48)],
    body: ReasonBody,
) -> Any:
    app = container(request)
    reason = DisputeReason(
        code=code,
        description=body.description,
        required_evidence=tuple(body.required_evidence),
        signer_role=body.signer_role,
        second_approval=body.second_approval,
        active=body.active,
    )
    saved = await _run(
        lambda: app.disputes.set_reason(
            tenant_id=principal.tenant_id,
            reason=reason,
            roles=[str(role) for role in Role if role is not Role.OPERATOR],
            actor=principal.actor,
            now=app.clock.now(),
        )
    )
    return reason_document(saved)


@router.put("/webhook/secret", summary="Set or rotate the service desk webhook's secret")
async def put_webhook_secret(
    request: Request, principal: WebhookManager, body: SecretRequest
) -> Any:
    app = container(request)
    stored = await _run(
        lambda: app.disputes.set_webhook_secret(
            tenant_id=principal.tenant_id,
            secret=body.secret,
            actor=principal.actor,
            now=app.clock.now(),
        )
    )
    # The secret itself is never returned, here or anywhere else.
    return {
        "webhook_path": f"/v1/disputes/webhook/{stored.token}",
        "updated_at": stored.updated_at.isoformat(),
        "updated_by": stored.updated_by,
    }


@router.delete(
    "/webhook/secret",
    status_code=204,
    summary="Remove the secret (idempotent): the webhook then answers 401",
)
async def delete_webhook_secret(request: Request, principal: WebhookManager) -> Response:
    await _run(
        lambda: container(request).disputes.delete_webhook_secret(tenant_id=principal.tenant_id)
    )
    return Response(status_code=204)


@router.post(
    "/webhook/{token}",
    summary="Open a dispute from a service desk's signed webhook",
    responses={401: {"description": "no secret configured, or a bad or stale signature"}},
)
async def receive_webhook(request: Request, response: Response, token: Token) -> Any:
    app = container(request)
    raw = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    tenant_id: str = await _run(
        lambda: app.disputes.authenticate_webhook(
            token=token, headers=headers, body=raw, now=app.clock.now()
        )
    )
    try:
        body = NewDispute.model_validate_json(raw)
    except ValidationError as error:
        raise ApiError(
            422, "invalid_dispute", f"the webhook body is not a dispute: {error}"
        ) from None
    if body.external_ref is None:
        raise ApiError(422, "invalid_dispute", "a service desk names its ticket in external_ref")
    opened = await _run(
        lambda: app.disputes.open(
            tenant_id=tenant_id,
            order_id=body.order_id,
            line_ids=body.line_ids,
            reason_code=body.reason_code,
            description=body.description,
            external_ref=body.external_ref,
            channel="webhook",
            # The token is part of the webhook's secret URL, so it stays out of the audit chain.
            actor="webhook:service_desk",
            now=app.clock.now(),
        )
    )
    return _opened(response, opened)


@router.get("/{dispute_id}", summary="One dispute with its evidence and resolution")
async def get_dispute(request: Request, principal: Reader, dispute_id: Id) -> Any:
    dispute, evidence = await _run(
        lambda: container(request).disputes.get(
            tenant_id=principal.tenant_id, dispute_id=dispute_id
        )
    )
    return dispute_document(dispute, evidence)


async def _upload(request: Request) -> tuple[str, str, str, str, bytes]:
    """(kind, filename, media type, note, document) from base64 JSON or from a raw body whose
    kind, filename and note are query parameters."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/octet-stream")
    if not content_type.startswith("application/json"):
        query = request.query_params
        meta = (query.get("kind", ""), query.get("filename", ""), content_type[:100])
        return (*meta, query.get("note", ""), raw)
    try:
        upload = EvidenceUpload.model_validate_json(raw)
        content = base64.b64decode(upload.content_base64, validate=True)
    except ValidationError as error:
        raise ApiError(422, "dispute_evidence_invalid", f"{error}") from None
    except (binascii.Error, ValueError):
        raise ApiError(
            422, "dispute_evidence_invalid", "content_base64 is not valid base64"
        ) from None
    return upload.kind, upload.filename, upload.media_type, upload.note, content


@router.post(
    "/{dispute_id}/evidence",
    status_code=201,
    summary="Attach a document (base64 JSON, or the raw bytes with kind and filename in the query)",
)
async def post_evidence(request: Request, principal: Attacher, dispute_id: Id) -> Any:
    app = container(request)
    kind, filename, media_type, note, content = await _upload(request)
    if len(content) > EVIDENCE_BYTES_MAX:
        error = EvidenceTooLarge(f"an evidence document is at most {EVIDENCE_BYTES_MAX} bytes")
        raise ApiError(error.status, error.code, str(error))
    evidence = await _run(
        lambda: app.disputes.attach(
            tenant_id=principal.tenant_id,
            dispute_id=dispute_id,
            kind=kind,
            filename=filename,
            media_type=media_type,
            content=content,
            note=note,
            actor=principal.actor,
            now=app.clock.now(),
        )
    )
    return evidence_document(evidence)


def _safe_name(filename: str) -> str:
    """The filename with anything but letters, digits, dot, dash and underscore replaced."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)


@router.get(
    "/{dispute_id}/evidence/{evidence_id}",
    summary="The document, after checking it still matches its SHA-256",
)
async def get_evidence(
    request: Request, principal: Reader, dispute_id: Id, evidence_id: Id
) -> Response:
    evidence, content = await _run(
        lambda: container(request).disputes.document(
            tenant_id=principal.tenant_id, dispute_id=dispute_id, evidence_id=evidence_id
        )
    )
    return Response(
        content=content,
        media_type=evidence.media_type,
        headers={
            "X-Content-SHA256": evidence.sha256,
            # Always a download, never rendered: the media type is the uploader's word.
            "Content-Disposition": f'attachment; filename="{_safe_name(evidence.filename)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/{dispute_id}/resolve",
    summary="Resolve: upheld reverses revenue; rejected reinstates once the evidence suffices",
    responses={202: {"description": "a second person must approve the reinstatement"}},
)
async def post_resolve(
    request: Request, response: Response, principal: Resolver, dispute_id: Id, body: Resolve
) -> Any:
    app = container(request)
    resolved = await _run(
        lambda: app.disputes.resolve(
            tenant_id=principal.tenant_id,
            dispute_id=dispute_id,
            outcome=body.outcome,
            amount_minor=body.amount_minor,
            treatment=body.treatment,
            note=body.note,
            decider=Party.of(principal),
            decider_roles=principal.roles,
            now=app.clock.now(),
        )
    )
    doc = dispute_document(resolved.dispute)
    if resolved.request is not None:
        response.status_code = 202
        doc["approval_request"] = request_document(resolved.request)
    return doc
