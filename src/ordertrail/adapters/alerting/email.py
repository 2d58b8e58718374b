"""The email sink: one plain-text message per notification to the level's addresses, over SMTP."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

from ordertrail.services.alert_ports import DeliveryResult, Notification


class EmailSink:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout_s = timeout_s

    def message(self, notification: Notification) -> EmailMessage:
        alert = notification.alert
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(notification.level.email_to)
        message["Subject"] = (
            f"[ordertrail {alert.severity.value}] {alert.summary} "
            f"(level {notification.level.level}, {notification.level.target_role})"
        )
        message["Message-ID"] = f"<{notification.notification_id}@ordertrail>"
        message.set_content(
            f"{alert.summary}\n\n"
            f"Alert {alert.id} ({alert.kind.value}) of tenant {alert.tenant_id}, opened "
            f"{alert.opened_at.isoformat()}, escalation level {notification.level.level} "
            f"({notification.level.target_role}).\n"
            f"Acknowledge it to stop escalation: ordertrail alerts ack {alert.id} "
            f"--tenant {alert.tenant_id}\n\n"
            + json.dumps(alert.details, indent=2, sort_keys=True)
            + "\n"
        )
        return message

    def send(self, *, notification: Notification) -> DeliveryResult | None:
        if not notification.level.email_to:
            return None
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(self.message(notification))
        except (smtplib.SMTPException, OSError) as error:
            return DeliveryResult(
                sink=self.name, sent=False, error=f"{type(error).__name__}: {error}"[:500]
            )
        return DeliveryResult(sink=self.name, sent=True)
