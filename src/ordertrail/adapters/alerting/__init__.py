"""Alert sinks: where notifications go (structured log, signed webhook, email over SMTP)."""

from __future__ import annotations

from ordertrail.adapters.alerting.email import EmailSink
from ordertrail.adapters.alerting.log_sink import LogSink
from ordertrail.adapters.alerting.settings import AlertingSettings
from ordertrail.adapters.alerting.webhook import WebhookSink
from ordertrail.services.alert_ports import Sink


def make_sinks(settings: AlertingSettings) -> list[Sink]:
    """The log sink always; the webhook and email sinks when they are configured."""
    sinks: list[Sink] = [LogSink()]
    if settings.webhook_url:
        sinks.append(
            WebhookSink(
                url=settings.webhook_url,
                secret=settings.webhook_secret.encode(),
                timeout_s=settings.webhook_timeout_s,
                attempts_max=settings.webhook_attempts_max,
            )
        )
    if settings.smtp_host:
        sinks.append(
            EmailSink(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=settings.smtp_password,
                timeout_s=settings.smtp_timeout_s,
            )
        )
    return sinks
