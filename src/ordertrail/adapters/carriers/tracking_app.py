"""Carrier tracking as the entry points use it: webhooks in, scans recorded, metrics counted.

Bootstrap builds one `CarrierTracking` per app (`Ordertrail.tracking`). The webhook path is:
find the tenant's endpoint by the URL token, verify the provider's signature over the raw bytes,
parse, then record the scans with the body's receipt in one transaction. Anything that fails
before the transaction stores nothing and counts as rejected.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ordertrail.adapters.carriers.payloads import PayloadInvalid
from ordertrail.adapters.carriers.signing import SignatureInvalid, verify
from ordertrail.adapters.carriers.webhooks import PARSERS
from ordertrail.adapters.metrics import Metrics
from ordertrail.domain.shipments.mapping import MappingTable
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services import tracking
from ordertrail.services.ports import Clock, ConcurrentWrite
from ordertrail.services.tracking import TrackingOutcome, WebhookOutcome
from ordertrail.services.tracking_ports import (
    CarrierSecretStore,
    TrackingUnitOfWork,
    WebhookEndpoint,
    WebhookReceipt,
)

ATTEMPTS_MAX = 3
_T = TypeVar("_T")
SECRET_CHARS_MAX = 500


class WebhookNotConfigured(Exception):
    """No secret is configured for this URL's tenant and provider: the request is refused."""


class ProviderUnknown(ValueError):
    """Not one of the webhook providers Ordertrail parses."""


def _retrying(attempt: Callable[[], _T]) -> _T:
    for number in range(1, ATTEMPTS_MAX + 1):
        try:
            return attempt()
        except ConcurrentWrite:
            if number == ATTEMPTS_MAX:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(slots=True)
class CarrierTracking:
    uow_factory: Callable[[], TrackingUnitOfWork]
    secrets: CarrierSecretStore
    tables: Mapping[str, MappingTable]
    clock: Clock
    new_id: Callable[[], str]
    metrics: Metrics

    def record_scans(
        self, *, tenant_id: str, scans: Sequence[CarrierScan], received_at: datetime | None = None
    ) -> TrackingOutcome:
        """Record scans (from a poller) for a tenant; counts unmapped codes."""
        at = received_at or self.clock.now()
        outcome = _retrying(
            lambda: tracking.record_scans(
                uow=self.uow_factory(),
                tenant_id=tenant_id,
                scans=scans,
                received_at=at,
                tables=self.tables,
                new_id=self.new_id,
            )
        )
        self._count_unmapped(outcome)
        return outcome

    def receive_webhook(
        self, *, provider: str, token: str, body: bytes, headers: Mapping[str, str]
    ) -> WebhookOutcome:
        """Verify, parse and record one webhook delivery; raise before storing anything if bad."""
        if provider not in PARSERS:
            raise ProviderUnknown(f"{provider!r} is not a webhook provider")
        now = self.clock.now()
        try:
            endpoint = self.secrets.by_token(provider=provider, token=token)
            if endpoint is None:
                raise WebhookNotConfigured(
                    f"no {provider} webhook secret is configured for this URL"
                )
            verify(provider=provider, secret=endpoint.secret, body=body, headers=headers, now=now)
            scans = PARSERS[provider](body)
        except (WebhookNotConfigured, SignatureInvalid, PayloadInvalid):
            self.metrics.webhooks.labels(provider=provider, outcome="rejected").inc()
            raise
        receipt = WebhookReceipt(
            tenant_id=endpoint.tenant_id,
            provider=provider,
            body_sha256=hashlib.sha256(body).hexdigest(),
            received_at=now,
            scans=len(scans),
        )
        outcome = _retrying(
            lambda: tracking.receive_webhook(
                uow=self.uow_factory(),
                receipt=receipt,
                scans=scans,
                tables=self.tables,
                new_id=self.new_id,
            )
        )
        nothing_new = scans and outcome.tracking.accepted == 0
        label = "duplicate" if outcome.duplicate or nothing_new else "accepted"
        self.metrics.webhooks.labels(provider=provider, outcome=label).inc()
        self._count_unmapped(outcome.tracking)
        return outcome

    def set_secret(
        self, *, tenant_id: str, provider: str, secret: str, actor: str
    ) -> WebhookEndpoint:
        """Set (or rotate) a tenant's secret for a provider; the URL token survives rotation."""
        if provider not in PARSERS:
            raise ProviderUnknown(f"{provider!r} is not a webhook provider")
        if not secret or len(secret) > SECRET_CHARS_MAX or secret != secret.strip():
            raise ValueError(
                f"the secret must be 1 to {SECRET_CHARS_MAX} characters without surrounding spaces"
            )
        return self.secrets.put(
            endpoint=WebhookEndpoint(
                tenant_id=tenant_id,
                provider=provider,
                token=secrets.token_urlsafe(24),
                secret=secret,
                updated_at=self.clock.now(),
                updated_by=actor,
            )
        )

    def delete_secret(self, *, tenant_id: str, provider: str) -> bool:
        return self.secrets.delete(tenant_id=tenant_id, provider=provider)

    def _count_unmapped(self, outcome: TrackingOutcome) -> None:
        for provider in outcome.unmapped_providers:
            self.metrics.unmapped_codes.labels(provider=provider).inc()


def webhook_path(*, provider: str, token: str) -> str:
    """The path a provider must POST to for this endpoint."""
    return f"/v1/carriers/webhooks/{provider}/{token}"
