"""The log sink: every notification as one JSON line on the `ordertrail.alerts` logger."""

from __future__ import annotations

import json
import logging

from ordertrail.services.alert_ports import DeliveryResult, Notification

logger = logging.getLogger("ordertrail.alerts")


class LogSink:
    name = "log"

    def send(self, *, notification: Notification) -> DeliveryResult:
        logger.warning(json.dumps(notification.as_dict(), sort_keys=True))
        return DeliveryResult(sink=self.name, sent=True)
