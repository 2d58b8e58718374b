"""The simulator's ASGI app: provider tracking endpoints behind per-credential rate limits.

Every request to a tracking endpoint is logged per provider and credential. A request that would
put more than a window's limit into that window gets 429 with `Retry-After` (whole seconds until
the oldest request in the window leaves it), and the counters keep the most requests any window
ever held, so a test can assert the poller stayed within every limit, not merely that it was not
refused. Token endpoints (UPS, USPS OAuth) are not rate limited.
"""

from __future__ import annotations

import asyncio
import base64
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ordertrail.adapters.carriers.simulator.responses import (
    body_for,
    not_found_body,
    throttled_body,
)
from ordertrail.adapters.carriers.simulator.scenario import Scenario
from ordertrail.services.polling_budget import QuotaWindow
from ordertrail.services.ports import Clock

Sleeper = Callable[[float], Awaitable[None]]
JOURNAL_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Arrival:
    """One tracking request as the simulator saw it, for tests and the measured figures."""

    at: datetime
    provider: str
    credential: str | None
    number: str
    status: int
    retry_after_s: int | None = None


@dataclass(slots=True)
class WindowLog:
    """One credential's requests within one window: the admitted ones (the quota, as carriers
    count it) and every arrival (what the client sent), with the most any window ever held."""

    window: QuotaWindow
    admitted: deque[datetime] = field(default_factory=deque)
    arrivals: deque[datetime] = field(default_factory=deque)
    max_seen: int = 0

    def arrive(self, now: datetime) -> float | None:
        """Log an arrival; return seconds to retry after if it is over the limit, else None."""
        span = timedelta(seconds=self.window.window_s)
        for log in (self.admitted, self.arrivals):
            while log and log[0] <= now - span:
                log.popleft()
        self.arrivals.append(now)
        self.max_seen = max(self.max_seen, len(self.arrivals))
        if len(self.admitted) >= self.window.requests:
            return (self.admitted[0] + span - now).total_seconds()
        return None

    def admit(self, now: datetime) -> None:
        self.admitted.append(now)


@dataclass(slots=True)
class ProviderCounters:
    requests: int = 0
    ok: int = 0
    throttled: int = 0
    not_found: int = 0
    unauthorized: int = 0
    tokens: int = 0
    logs: dict[tuple[str, str], WindowLog] = field(default_factory=dict)  # (credential, window)

    def as_dict(self) -> dict[str, Any]:
        windows: dict[str, dict[str, int]] = {}
        for (_, label), log in self.logs.items():
            entry = windows.setdefault(label, {"limit": log.window.requests, "max_seen": 0})
            entry["max_seen"] = max(entry["max_seen"], log.max_seen)
        return {
            "requests": self.requests,
            "ok": self.ok,
            "throttled": self.throttled,
            "not_found": self.not_found,
            "unauthorized": self.unauthorized,
            "tokens": self.tokens,
            "windows": windows,
        }


@dataclass(slots=True)
class CarrierSimulator:
    """The state behind the app: the scenario, the limits, the clock and the counters."""

    scenario: Scenario
    clock: Clock
    limits: Mapping[str, tuple[QuotaWindow, ...]] = field(default_factory=dict)
    latency_s: float = 0.0
    sleep: Sleeper = asyncio.sleep
    counters: dict[str, ProviderCounters] = field(default_factory=dict)
    journal: deque[Arrival] = field(default_factory=lambda: deque(maxlen=JOURNAL_MAX))
    _tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (provider, id)
    _request_index: int = 0

    def counters_for(self, provider: str) -> ProviderCounters:
        return self.counters.setdefault(provider, ProviderCounters())

    def stats(self) -> dict[str, Any]:
        return {
            provider: counters.as_dict() for provider, counters in sorted(self.counters.items())
        }

    def issue_token(self, *, provider: str, client_id: str) -> str:
        self.counters_for(provider).tokens += 1
        token = f"sim-{provider}-{len(self._tokens) + 1:06d}"
        self._tokens[token] = (provider, client_id)
        return token

    def credential_of(self, request: Request, provider: str) -> str | None:
        if provider == "dhl":
            return request.headers.get("dhl-api-key") or None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        owner = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return owner[1] if owner is not None and owner[0] == provider else None

    async def track(self, request: Request, *, provider: str, number: str) -> JSONResponse:
        counters = self.counters_for(provider)
        counters.requests += 1
        if self.latency_s > 0:
            await self.sleep(self.latency_s)
        credential = self.credential_of(request, provider)
        now = self.clock.now()
        if credential is None:
            counters.unauthorized += 1
            self.journal.append(Arrival(now, provider, None, number, 401))
            return JSONResponse({"title": "Unauthorized", "status": 401}, status_code=401)
        retry_s = None
        logs = [
            counters.logs.setdefault((credential, window.label), WindowLog(window))
            for window in self.limits.get(provider, ())
        ]
        for log in logs:
            wait = log.arrive(now)
            if wait is not None:
                retry_s = max(retry_s or 0.0, wait)
        if retry_s is None:
            # Admitted: it counts against every window (a refused request counts against none).
            for log in logs:
                log.admit(now)
        else:
            counters.throttled += 1
            retry_after = max(1, math.ceil(retry_s))
            self.journal.append(Arrival(now, provider, credential, number, 429, retry_after))
            headers = {"Retry-After": str(retry_after)}
            return JSONResponse(throttled_body(provider), status_code=429, headers=headers)
        parcel = self.scenario.parcels.get((provider, number))
        if parcel is None or not parcel.visible(now=now):
            counters.not_found += 1
            self.journal.append(Arrival(now, provider, credential, number, 404))
            return JSONResponse(not_found_body(provider, number), status_code=404)
        counters.ok += 1
        self.journal.append(Arrival(now, provider, credential, number, 200))
        self._request_index += 1
        shuffle = random.Random(f"{self.scenario.seed}:{number}:{self._request_index}")  # noqa: S311
        return JSONResponse(body_for(parcel, now=now, shuffle=shuffle))


def _basic_client_id(request: Request) -> str | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded).decode().partition(":")[0] or None
    except (ValueError, UnicodeDecodeError):
        return None


def create_simulator_app(simulator: CarrierSimulator) -> Starlette:
    """The ASGI app serving `simulator` (run it with uvicorn, or mount it in an httpx client)."""

    async def ups_token(request: Request) -> JSONResponse:
        client_id = _basic_client_id(request)
        if client_id is None:
            return JSONResponse({"response": {"errors": [{"code": "10401"}]}}, status_code=401)
        token = simulator.issue_token(provider="ups", client_id=client_id)
        issued_ms = int(simulator.clock.now().timestamp() * 1000)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "issued_at": str(issued_ms),
                "client_id": client_id,
                "access_token": token,
                "expires_in": "14399",
                "status": "approved",
            }
        )

    async def usps_token(request: Request) -> JSONResponse:
        # Form-encoded, as OAuth clients send it; parsed here so the simulator needs no extra
        # dependency for it.
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        client_id = form.get("client_id", "")
        if not client_id or form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = simulator.issue_token(provider="usps", client_id=client_id)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 28799,
                "status": "approved",
            }
        )

    async def ups_track(request: Request) -> JSONResponse:
        return await simulator.track(request, provider="ups", number=request.path_params["number"])

    async def dhl_track(request: Request) -> JSONResponse:
        number = request.query_params.get("trackingNumber", "")
        return await simulator.track(request, provider="dhl", number=number)

    async def usps_track(request: Request) -> JSONResponse:
        return await simulator.track(request, provider="usps", number=request.path_params["number"])

    async def stats(request: Request) -> JSONResponse:  # noqa: ARG001
        return JSONResponse(simulator.stats())

    async def parcels(request: Request) -> JSONResponse:  # noqa: ARG001
        listing: dict[str, list[str]] = {}
        for provider, number in simulator.scenario.parcels:
            listing.setdefault(provider, []).append(number)
        return JSONResponse(listing)

    return Starlette(
        routes=[
            Route("/security/v1/oauth/token", ups_token, methods=["POST"]),
            Route("/oauth2/v3/token", usps_token, methods=["POST"]),
            Route("/api/track/v1/details/{number}", ups_track, methods=["GET"]),
            Route("/track/shipments", dhl_track, methods=["GET"]),
            Route("/tracking/v3/tracking/{number}", usps_track, methods=["GET"]),
            Route("/_simulator/stats", stats, methods=["GET"]),
            Route("/_simulator/parcels", parcels, methods=["GET"]),
        ]
    )
