"""The webhook sink: a signed JSON POST per notification, retried with capped, jittered backoff.

Retried: connection errors, timeouts, 408, 429 and 5xx. Not retried: other 4xx (the receiver
refuses this request and will refuse it again). Once a notification has used up its attempts, the
next ones for a minute get a single attempt each (a receiver that is down is not waited for).
The notification id header is stable across retries and runs, so a receiver de-duplicates a
notification delivered twice.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from ordertrail.adapters.alerting.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from ordertrail.services.alert_ports import DeliveryResult, Notification

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_MAX_S = 30.0
# After a notification used up its attempts, the receiver is presumed down for this long: later
# notifications get one attempt each, so an outage cannot hold the alert job for
# attempts x timeout per notification.
DOWN_FOR_S = 60.0


class WebhookSink:
    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        secret: bytes,
        timeout_s: float = 5.0,
        attempts_max: int = 4,
        backoff_initial_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        now_s: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._secret = secret
        self._timeout_s = timeout_s
        self._attempts_max = attempts_max
        self._backoff_initial_s = backoff_initial_s
        self._sleep = sleep
        self._now_s = now_s
        self._down_until_s = 0.0

    def _post(self, body: bytes, notification_id: str) -> int:
        timestamp = int(self._now_s())
        request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s)
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signature(secret=self._secret, timestamp=timestamp, body=body),
                ID_HEADER: notification_id,
                "User-Agent": "ordertrail-alerts",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def send(self, *, notification: Notification) -> DeliveryResult:
        body = json.dumps(notification.as_dict(), sort_keys=True).encode()
        error = ""
        attempts_max = 1 if self._now_s() < self._down_until_s else self._attempts_max
        for attempt in range(1, attempts_max + 1):
            try:
                status = self._post(body, notification.notification_id)
            except (urllib.error.URLError, TimeoutError, OSError) as failure:
                error = f"{type(failure).__name__}: {failure}"
            else:
                if 200 <= status < 300:
                    self._down_until_s = 0.0
                    return DeliveryResult(sink=self.name, sent=True, attempts=attempt)
                error = f"HTTP {status}"
                if status not in RETRYABLE_STATUSES:
                    return DeliveryResult(sink=self.name, sent=False, attempts=attempt, error=error)
            if attempt < attempts_max:
                backoff = min(BACKOFF_MAX_S, self._backoff_initial_s * 2 ** (attempt - 1))
                # Full jitter: receivers recovering from an outage are not hit in lockstep.
                self._sleep(random.uniform(backoff / 2, backoff))  # noqa: S311 - not crypto
        self._down_until_s = self._now_s() + DOWN_FOR_S
        return DeliveryResult(sink=self.name, sent=False, attempts=attempts_max, error=error[:500])
