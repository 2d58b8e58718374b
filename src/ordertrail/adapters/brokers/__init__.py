"""Brokers behind one port, chosen by the scheme of `ORDERTRAIL_BROKER_URL`.

The table below is the whole selection. `db://` is the embedded default; `amqp://` and `amqps://`
are RabbitMQ; `kafka://` is Kafka.
No factory connects: a broker connects on first use, inside the event loop that uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from ordertrail.adapters.brokers.db import DbBroker
from ordertrail.adapters.brokers.kafka import KafkaBroker
from ordertrail.adapters.brokers.kafka_settings import KafkaSettings
from ordertrail.adapters.brokers.rabbitmq import RabbitBroker, RabbitSettings
from ordertrail.services.messaging import Broker, BrokerNotAvailable
from ordertrail.services.ports import Clock

DEFAULT_BROKER_URL = "db://"


@dataclass(frozen=True, slots=True)
class BrokerContext:
    """What a broker factory may use: the parsed URL and the application's shared parts."""

    url: str
    engine: Engine
    clock: Clock
    lease_s: float


def _db(context: BrokerContext) -> Broker:
    rest = context.url.split("://", 1)[1]
    if rest not in ("", "/"):
        raise BrokerNotAvailable(
            f"the embedded broker takes no address ({context.url!r}): write db:// and it uses "
            "the configured database"
        )
    return DbBroker(context.engine, clock=context.clock, lease_s=context.lease_s)


def _rabbitmq(context: BrokerContext) -> Broker:
    try:
        settings = RabbitSettings.from_url(context.url)
    except ValueError as error:
        raise BrokerNotAvailable(f"bad RabbitMQ broker URL: {error}") from error
    return RabbitBroker(
        settings, engine=context.engine, clock=context.clock, lease_s=context.lease_s
    )


def _kafka(context: BrokerContext) -> Broker:
    try:
        settings = KafkaSettings.from_url(context.url)
    except ValueError as error:
        raise BrokerNotAvailable(f"bad Kafka broker URL: {error}") from error
    return KafkaBroker(
        settings, engine=context.engine, clock=context.clock, lease_s=context.lease_s
    )


BROKERS: dict[str, Callable[[BrokerContext], Broker]] = {
    "db": _db,
    "amqp": _rabbitmq,
    "amqps": _rabbitmq,
    "kafka": _kafka,
}


def make_broker(context: BrokerContext) -> Broker:
    """Build the broker the URL's scheme names, or raise BrokerNotAvailable saying why not."""
    scheme, separator, _ = context.url.partition("://")
    factory = BROKERS.get(scheme.lower()) if separator else None
    if factory is None:
        known = ", ".join(f"{name}://" for name in BROKERS)
        raise BrokerNotAvailable(
            f"unknown broker URL {context.url!r}: ORDERTRAIL_BROKER_URL takes one of {known}"
        )
    return factory(context)
