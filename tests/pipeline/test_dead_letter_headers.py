"""A dead letter keeps its headers, and a replay delivers exactly those, on every broker."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest

from ordertrail.adapters.db.dead_letter_store import encode_headers, message_from_row
from ordertrail.bootstrap import Ordertrail
from ordertrail.services.consumer import ConsumeReport, consume_round
from ordertrail.services.messaging import ConsumerUnitOfWork, Message
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.support import message, pipeline_app
from tests.pipeline.test_rabbitmq import rabbit_url  # noqa: F401 (the amqp case's fixture)

HEADERS = {
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "tracestate": "vendor=opaque",
    # Named like the creation time stored beside the headers: it must not be taken for it.
    "created_at": "a header, not the time",
}
PATIENCE_S = 20.0


class HeaderRecorder(RecordingHandler):
    """Remembers the headers of every message it was handed."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.headers_seen: list[dict[str, str]] = []

    def handle(self, *, message: Message, uow: ConsumerUnitOfWork) -> None:
        self.headers_seen.append(dict(message.headers))
        super().handle(message=message, uow=uow)


async def consume(app: Ordertrail, *, until: ConsumeReport) -> None:
    """Consume the critical lane until the counts are reached, moving the clock past backoffs."""
    deadline = time.monotonic() + PATIENCE_S
    total = ConsumeReport()
    while total.handled < until.handled or total.dead_lettered < until.dead_lettered:
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {until}: {total}")
        app.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        total += await consume_round(
            receiver=app.pipeline.broker,
            registry=app.pipeline.registry,
            uow_factory=app.pipeline.uow_factory,
            clock=app.clock,
            policy=app.pipeline.retry,
            lane="critical",
            batch_size=10,
        )


@pytest.mark.parametrize("broker", ["db", "amqp"])
def test_a_replayed_dead_letter_is_delivered_with_every_header_it_had(
    broker, request, sqlite_engine, clock
):
    url = "db://" if broker == "db" else request.getfixturevalue("rabbit_url")
    recorder = HeaderRecorder(clock=clock)
    app = pipeline_app(sqlite_engine, clock, recorder, broker_url=url, retry_attempts_max=2)
    sent = replace(message(), headers=HEADERS)
    recorder.fail_always = True

    async def scenario() -> Message:
        await app.pipeline.broker.publish(messages=[sent])
        await consume(app, until=ConsumeReport(dead_lettered=1))
        [item] = app.pipeline.dead_letters.list(
            tenant_id="acme", include_purged=False, limit=10, cursor=None
        ).items
        recorder.fail_always = False
        replayed = await app.replay_dead_letter(
            tenant_id="acme", dead_letter_id=item["id"], actor="ops"
        )
        await consume(app, until=ConsumeReport(handled=1))
        await app.pipeline.broker.close()
        return replayed.message

    assert asyncio.run(scenario()) == sent
    # Two failed attempts and the replay: the handler saw the same headers every time.
    assert recorder.headers_seen == [HEADERS] * 3


def test_rows_written_before_headers_had_their_own_object_still_read():
    legacy = SimpleNamespace(
        message_id="acme/evt-1",
        tenant_id="acme",
        order_id="SO-1",
        lane="critical",
        event_type="shipment.delivered",
        body="{}",
        headers=json.dumps(
            {"traceparent": HEADERS["traceparent"], "created_at": "2026-11-27T10:00:00+00:00"}
        ),
    )
    read = message_from_row(legacy)
    assert read.headers == {"traceparent": HEADERS["traceparent"]}
    assert read.created_at.isoformat() == "2026-11-27T10:00:00+00:00"
    again = message_from_row(SimpleNamespace(**{**vars(legacy), "headers": encode_headers(read)}))
    assert again == read
