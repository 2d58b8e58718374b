"""Each sink against a real receiver on loopback: a webhook server that verifies the signature the
way docs/operators/monitoring.md tells receivers to, and a local SMTP server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ordertrail.adapters.alerting.email import EmailSink
from ordertrail.adapters.alerting.log_sink import LogSink
from ordertrail.adapters.alerting.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    verify,
)
from ordertrail.adapters.alerting.webhook import WebhookSink
from ordertrail.domain.monitoring.alerts import Alert, AlertKind, AlertState
from ordertrail.domain.monitoring.escalation import EscalationLevel
from ordertrail.domain.monitoring.rules import Severity
from ordertrail.services.alert_ports import Notification

SECRET = b"whsec-0123456789abcdef"
AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def notification(*, email_to: tuple[str, ...] = ()) -> Notification:
    alert = Alert(
        id=7,
        tenant_id="acme",
        kind=AlertKind.SHIPMENT_STAGNANT,
        subject="S1",
        severity=Severity.CRITICAL,
        state=AlertState.OPEN,
        summary="shipment S1 has been exception for 25 h without an update",
        opened_at=AT,
        escalation_level=2,
        details={"carrier": "ups"},
    )
    level = EscalationLevel(level=2, delay_minutes=240, target_role="ops-lead", email_to=email_to)
    return Notification(
        notification_id="acme:7:2", event="escalated", alert=alert, level=level, sent_at=AT
    )


class Receiver(BaseHTTPRequestHandler):
    """Answers the queued statuses in turn (then 200); keeps what verified and what did not."""

    statuses: list[int]
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        authentic = verify(
            secret=SECRET,
            timestamp_header=self.headers[TIMESTAMP_HEADER],
            signature_header=self.headers[SIGNATURE_HEADER],
            body=body,
            now_s=time.time(),
        )
        self.received.append(
            {"authentic": authentic, "id": self.headers[ID_HEADER], "body": json.loads(body)}
        )
        status = self.statuses.pop(0) if self.statuses else 200
        self.send_response(status if authentic else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("R", (Receiver,), {"statuses": [], "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/ordertrail", handler
    server.shutdown()
    server.server_close()


def free_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sink(url: str, secret: bytes = SECRET) -> tuple[WebhookSink, list[float]]:
    sleeps: list[float] = []
    return WebhookSink(url=url, secret=secret, attempts_max=4, sleep=sleeps.append), sleeps


def test_the_webhook_is_signed_so_the_receiver_verifies_it(receiver):
    url, handler = receiver
    webhook, _ = sink(url)
    result = webhook.send(notification=notification())
    assert (result.sent, result.attempts) == (True, 1)
    [got] = handler.received
    assert got["authentic"]
    assert got["id"] == "acme:7:2"
    assert got["body"]["alert"]["subject"] == "S1"
    assert (got["body"]["event"], got["body"]["target_role"]) == ("escalated", "ops-lead")


def test_a_webhook_signed_with_another_secret_fails_verification(receiver):
    url, handler = receiver
    webhook, _ = sink(url, secret=b"not-the-shared-secret!")
    result = webhook.send(notification=notification())
    assert not result.sent
    assert result.error == "HTTP 401"
    # A 4xx other than 408/429 is the receiver's answer, not a fault: not retried.
    assert len(handler.received) == 1
    assert not handler.received[0]["authentic"]


def test_the_webhook_retries_server_errors_with_growing_backoff(receiver):
    url, handler = receiver
    handler.statuses = [503, 502, 429]
    webhook, sleeps = sink(url)
    result = webhook.send(notification=notification())
    assert (result.sent, result.attempts) == (True, 4)
    assert [r["id"] for r in handler.received] == ["acme:7:2"] * 4
    assert len(sleeps) == 3
    # Full jitter within [backoff/2, backoff]: 0.5, 1, 2 s.
    for slept, backoff in zip(sleeps, (0.5, 1.0, 2.0), strict=True):
        assert backoff / 2 <= slept <= backoff


def test_the_webhook_gives_up_after_its_attempts_when_nobody_listens():
    port = free_port()
    webhook, sleeps = sink(f"http://127.0.0.1:{port}/")
    result = webhook.send(notification=notification())
    assert (result.sent, result.attempts, len(sleeps)) == (False, 4, 3)
    assert "Connection" in (result.error or "") or "refused" in (result.error or "")


def test_after_a_notification_fails_every_attempt_the_next_ones_get_one_attempt_for_a_minute():
    port = free_port()
    clock = [1_000.0]
    sleeps: list[float] = []
    webhook = WebhookSink(
        url=f"http://127.0.0.1:{port}/", secret=SECRET, sleep=sleeps.append, now_s=lambda: clock[0]
    )
    assert webhook.send(notification=notification()).attempts == 4
    clock[0] += 59
    assert webhook.send(notification=notification()).attempts == 1
    assert len(sleeps) == 3
    # Each failure keeps it presumed down for another minute from then.
    clock[0] += 59
    assert webhook.send(notification=notification()).attempts == 1
    clock[0] += 61
    assert webhook.send(notification=notification()).attempts == 4


def test_signatures_outside_the_tolerance_or_tampered_are_refused():
    body = b'{"a": 1}'
    header = signature(secret=SECRET, timestamp=1_000, body=body)
    assert verify(
        secret=SECRET, timestamp_header="1000", signature_header=header, body=body, now_s=1_100
    )
    assert not verify(
        secret=SECRET, timestamp_header="1000", signature_header=header, body=body, now_s=1_301
    )
    assert not verify(
        secret=SECRET,
        timestamp_header="1000",
        signature_header=header,
        body=b'{"a": 2}',
        now_s=1_000,
    )
    assert not verify(
        secret=SECRET, timestamp_header="x", signature_header=header, body=body, now_s=1_000
    )


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


def test_the_email_sink_mails_the_levels_recipients_through_smtp(smtp):
    port, mailbox = smtp
    email = EmailSink(host="127.0.0.1", port=port, sender="alerts@ordertrail.test")
    result = email.send(notification=notification(email_to=("lead@example.com", "ops@example.com")))
    assert result is not None
    assert result.sent
    [(recipients, content)] = mailbox.messages
    assert recipients == ["lead@example.com", "ops@example.com"]
    message = message_from_bytes(content)
    assert message["Subject"].startswith("[ordertrail critical] shipment S1")
    assert "ordertrail alerts ack 7 --tenant acme" in message.get_payload()


def test_the_email_sink_skips_levels_without_recipients_and_reports_a_dead_server(smtp):
    port, _ = smtp
    assert (
        EmailSink(host="127.0.0.1", port=port, sender="a@b.c").send(notification=notification())
        is None
    )
    closed = free_port()
    result = EmailSink(host="127.0.0.1", port=closed, sender="a@b.c", timeout_s=2).send(
        notification=notification(email_to=("x@example.com",))
    )
    assert result is not None
    assert not result.sent
    assert result.error


def test_the_log_sink_writes_one_json_line(caplog):
    with caplog.at_level("WARNING", logger="ordertrail.alerts"):
        LogSink().send(notification=notification())
    [record] = caplog.records
    assert json.loads(record.getMessage())["notification_id"] == "acme:7:2"
