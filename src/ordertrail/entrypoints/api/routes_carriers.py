"""Carrier webhooks in, and the admin endpoints that configure them.

`POST /v1/carriers/webhooks/{provider}/{token}` is called by the provider, not by a holder of an
API key: the token in the path names the tenant's endpoint and the provider's signature over the
raw body authenticates the call. It fails closed: an unknown token (no secret configured) or a
bad signature is 401 and nothing is stored. A body already received is 200 with outcome
`duplicate`, and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ordertrail.adapters.carriers.payloads import PayloadInvalid
from ordertrail.adapters.carriers.signing import SignatureInvalid
from ordertrail.adapters.carriers.tracking_app import (
    CarrierTracking,
    ProviderUnknown,
    WebhookNotConfigured,
    webhook_path,
)
from ordertrail.adapters.carriers.webhooks import WEBHOOK_PROVIDERS
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal

router = APIRouter(prefix="/v1/carriers", tags=["carriers"])
Manager = Annotated[Principal, Depends(require(Action.CARRIERS_MANAGE))]
Provider = Annotated[str, Path(max_length=32, description=f"one of {', '.join(WEBHOOK_PROVIDERS)}")]
Token = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class SecretRequest(BaseModel):
    secret: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="The provider's signing secret (UPS: the subscription credential)."
    )


def _tracking(request: Request) -> CarrierTracking:
    tracking = container(request).tracking
    if tracking is None:
        raise ApiError(503, "carrier_tracking_unavailable", "carrier tracking is not wired")
    return tracking


def _unknown(provider: str) -> ApiError:
    return ApiError(
        404,
        "carrier_provider_unknown",
        f"{provider!r} is not a webhook provider; use one of {', '.join(WEBHOOK_PROVIDERS)}",
    )


@router.post(
    "/webhooks/{provider}/{token}",
    summary="Receive a provider's signed tracking webhook",
    responses={401: {"description": "no secret configured, or a bad or missing signature"}},
)
async def receive_webhook(request: Request, provider: Provider, token: Token) -> dict[str, Any]:
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        outcome = await run_in_threadpool(
            _tracking(request).receive_webhook,
            provider=provider,
            token=token,
            body=body,
            headers=headers,
        )
    except ProviderUnknown:
        raise _unknown(provider) from None
    except WebhookNotConfigured as error:
        raise ApiError(401, "carrier_webhook_not_configured", str(error)) from None
    except SignatureInvalid as error:
        raise ApiError(401, "carrier_signature_invalid", str(error)) from None
    except PayloadInvalid as error:
        raise ApiError(400, "carrier_payload_invalid", str(error)) from None
    result = outcome.tracking
    duplicate = outcome.duplicate or (result.accepted == 0 and result.duplicates > 0)
    return {
        "outcome": "duplicate" if duplicate else "accepted",
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "unmapped": result.unmapped,
        "unknown_shipments": result.unknown_shipments,
        "delivered": list(result.delivered),
    }


@router.put("/{provider}/secret", summary="Set or rotate the tenant's webhook secret")
async def put_secret(
    request: Request, provider: Provider, principal: Manager, secret: SecretRequest
) -> dict[str, Any]:
    try:
        endpoint = await run_in_threadpool(
            _tracking(request).set_secret,
            tenant_id=principal.tenant_id,
            provider=provider,
            secret=secret.secret,
            actor=principal.actor,
        )
    except ProviderUnknown:
        raise _unknown(provider) from None
    except ValueError as error:
        raise ApiError(422, "carrier_secret_invalid", str(error)) from None
    # The secret itself is never returned, here or anywhere else.
    return {
        "provider": provider,
        "webhook_path": webhook_path(provider=provider, token=endpoint.token),
        "updated_at": endpoint.updated_at.isoformat(),
        "updated_by": endpoint.updated_by,
    }


@router.delete(
    "/{provider}/secret", status_code=204, summary="Remove the secret: the webhook then answers 401"
)
async def delete_secret(request: Request, provider: Provider, principal: Manager) -> Response:
    if provider not in WEBHOOK_PROVIDERS:
        raise _unknown(provider)
    removed = await run_in_threadpool(
        _tracking(request).delete_secret, tenant_id=principal.tenant_id, provider=provider
    )
    if not removed:
        raise ApiError(
            404, "carrier_secret_not_found", f"no {provider} secret is configured for this tenant"
        )
    return Response(status_code=204)
