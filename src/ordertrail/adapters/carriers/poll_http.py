"""What every tracking client shares: status handling, retry times, OAuth tokens, time parsing.

Carriers say "slow down" in several dialects: `Retry-After` in seconds or as an HTTP date (RFC
9110), the IETF draft's `RateLimit-Reset` (seconds from now), and `X-RateLimit-Reset` (an epoch
time, or seconds from now when small). All of them become one absolute retry time.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ordertrail.services.polling_ports import CarrierUnavailable, Throttled, TrackingNotFound
from ordertrail.services.ports import Clock

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Values of X-RateLimit-Reset above this are epoch seconds; below, seconds from now.
EPOCH_THRESHOLD_S = 1_000_000_000
RETRY_AFTER_S_MAX = 7 * 86_400
BODY_SNIPPET_MAX = 200
# Refresh a token this long before it expires, so no request goes out with a dying one.
TOKEN_MARGIN_S = 60


def retry_at_from(headers: Mapping[str, str], *, now: datetime) -> datetime | None:
    """The absolute time a throttled client may retry, from whichever header the carrier sent."""
    lowered = {key.lower(): value.strip() for key, value in headers.items()}
    value = lowered.get("retry-after")
    if value:
        if value.isdigit():
            return now + timedelta(seconds=min(int(value), RETRY_AFTER_S_MAX))
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return max(now, moment.astimezone(UTC))
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        value = lowered.get(name, "")
        if value.isdigit():
            seconds = int(value)
            if seconds > EPOCH_THRESHOLD_S:
                return max(now, datetime.fromtimestamp(seconds, tz=UTC))
            return now + timedelta(seconds=min(seconds, RETRY_AFTER_S_MAX))
    return None


def check(response: httpx.Response, *, now: datetime, what: str) -> None:
    """Turn a carrier's error status into the exception the poller acts on."""
    status = response.status_code
    if status < 400:
        return
    snippet = response.text[:BODY_SNIPPET_MAX]
    if status == 429:
        raise Throttled(f"{what}: 429 {snippet}", retry_at=retry_at_from(response.headers, now=now))
    if status == 404:
        raise TrackingNotFound(f"{what}: 404 {snippet}")
    raise CarrierUnavailable(f"{what}: HTTP {status} {snippet}")


def json_of(response: httpx.Response, *, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise CarrierUnavailable(f"{what}: the response is not JSON") from None
    if not isinstance(body, dict):
        raise CarrierUnavailable(f"{what}: the response is not a JSON object")
    return body


async def send(
    client: httpx.AsyncClient, request: httpx.Request, *, now: datetime, what: str
) -> dict[str, Any]:
    """Send a request; return its JSON body or raise what the poller understands."""
    try:
        response = await client.send(request)
    except httpx.HTTPError as error:
        raise CarrierUnavailable(f"{what}: {type(error).__name__}: {error}") from None
    check(response, now=now, what=what)
    return json_of(response, what=what)


class OAuthToken:
    """A client-credentials access token, fetched when missing or about to expire."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        basic_auth: bool,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._basic_auth = basic_auth
        self._token: str | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)

    async def get(self, client: httpx.AsyncClient) -> str:
        now = self._clock.now()
        if self._token is not None and now < self._expires_at:
            return self._token
        form = {"grant_type": "client_credentials"}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self._basic_auth:
            # UPS: the client id and secret go in HTTP Basic authentication.
            pair = f"{self._client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            # USPS: they go in the body with the grant type.
            form |= {"client_id": self._client_id, "client_secret": self._client_secret}
        request = client.build_request("POST", self._token_url, data=form, headers=headers)
        body = await send(client, request, now=now, what="oauth token")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise CarrierUnavailable("oauth token: no access_token in the answer")
        try:
            lifetime_s = int(body.get("expires_in", 3600))  # UPS sends it as a string
        except (TypeError, ValueError):
            lifetime_s = 3600
        self._token = token
        self._expires_at = now + timedelta(seconds=max(lifetime_s - TOKEN_MARGIN_S, 1))
        return token


def parse_instant(text: str | None) -> datetime | None:
    """An ISO 8601 time; a time without an offset is taken as UTC (the carrier's "GMT")."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def text_of(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def place(*parts: object) -> str | None:
    """Join the non-empty parts of a location ("LOUISVILLE, KY, US")."""
    words = [text for part in parts if (text := text_of(part))]
    return ", ".join(words) or None
