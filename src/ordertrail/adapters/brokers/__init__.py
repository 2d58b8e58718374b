"""Brokers behind one port, chosen by the scheme of `ORDERTRAIL_BROKER_URL`.

The table below is the whole selection. `db://` is the embedded default; RabbitMQ and Kafka are
listed so a URL naming them gets a clear answer instead of "unknown scheme".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from ordertrail.adapters.brokers.db import DbBroker
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


def _not_yet(name: str, package: str) -> Callable[[BrokerContext], Broker]:
    def factory(context: BrokerContext) -> Broker:
        raise BrokerNotAvailable(
            f"{context.url.split('://', 1)[0]}:// ({name}, via {package}) has no adapter in this "
            "version yet; use db:// (the embedded broker)"
        )

    return factory


BROKERS: dict[str, Callable[[BrokerContext], Broker]] = {
    "db": _db,
    "amqp": _not_yet("RabbitMQ", "aio-pika"),
    "amqps": _not_yet("RabbitMQ", "aio-pika"),
    "kafka": _not_yet("Kafka", "aiokafka"),
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
