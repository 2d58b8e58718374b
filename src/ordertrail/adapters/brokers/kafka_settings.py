"""What a `kafka://` URL may say, and the topic and group names that follow from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ordertrail.services.messaging import LANES

# A retry waits in the shortest of these topics at least as long as its delay.
RETRY_TIERS_S = (1, 5, 30, 120, 600)
PARTITIONS_DEFAULT = 12
PARTITIONS_MAX = 1_000
# How long an empty `receive` waits for a first message before it answers "nothing".
RECEIVE_WAIT_S_DEFAULT = 0.2

_OPTIONS: dict[str, type] = {
    "prefix": str,
    "group": str,
    "partitions": int,
    "receive_wait_s": float,
    "session_timeout_ms": int,
    "heartbeat_interval_ms": int,
    "request_timeout_ms": int,
}


def retry_tier_s(delay_s: float) -> int:
    """The retry topic for `delay_s`: the shortest tier not shorter, else the longest."""
    return next((tier for tier in RETRY_TIERS_S if tier >= delay_s), RETRY_TIERS_S[-1])


def _name_ok(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "._-" for c in name)


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """The bootstrap servers and what the URL's query may set."""

    bootstrap: str
    prefix: str = "ordertrail"
    group: str = ""
    partitions: int = PARTITIONS_DEFAULT
    receive_wait_s: float = RECEIVE_WAIT_S_DEFAULT
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 30_000

    def __post_init__(self) -> None:
        if not self.bootstrap:
            raise ValueError("a Kafka broker URL names at least one host:port")
        if not _name_ok(self.prefix):
            raise ValueError("the Kafka prefix takes letters, digits, '.', '_' and '-'")
        if self.group and not _name_ok(self.group):
            raise ValueError("the Kafka group takes letters, digits, '.', '_' and '-'")
        if not 1 <= self.partitions <= PARTITIONS_MAX:
            raise ValueError(f"the Kafka partitions must be between 1 and {PARTITIONS_MAX}")
        if not 0 <= self.receive_wait_s <= 10:
            raise ValueError("the Kafka receive wait must be between 0 and 10 seconds")
        if not 0 < self.heartbeat_interval_ms < self.session_timeout_ms <= 300_000:
            raise ValueError("Kafka needs 0 < heartbeat_interval_ms < session_timeout_ms <= 300000")
        if not 1_000 <= self.request_timeout_ms <= 300_000:
            raise ValueError("the Kafka request timeout must be between 1000 and 300000 ms")

    @classmethod
    def from_url(cls, url: str) -> KafkaSettings:
        """Read `kafka://h1:p1,h2:p2?prefix=…&group=…&partitions=…&receive_wait_s=…&…`.

        An option it does not know is refused rather than ignored: a misspelt `partitions`
        would otherwise create every topic with the default count.
        """
        parts = urlsplit(url)
        if parts.path not in ("", "/"):
            raise ValueError(f"a Kafka broker URL has no path ({url!r})")
        options: dict[str, Any] = {}
        for name, value in parse_qsl(parts.query):
            if name not in _OPTIONS:
                raise ValueError(f"unknown Kafka option {name!r}; known: {', '.join(_OPTIONS)}")
            options[name] = _OPTIONS[name](value)
        return cls(bootstrap=parts.netloc, **options)

    def name(self, *parts: str) -> str:
        return ".".join((self.prefix, *parts))

    def lane_topics(self, lane: str) -> tuple[str, ...]:
        """The lane's topic, then its retry topics, shortest first."""
        return (self.name(lane), *(self.retry_topic(lane, tier) for tier in RETRY_TIERS_S))

    def retry_topic(self, lane: str, tier_s: int) -> str:
        return self.name(lane, "retry", str(tier_s))

    @property
    def dead_topic(self) -> str:
        return self.name("dead")

    def topics(self) -> list[str]:
        """Every topic the broker uses: each lane's with its retry topics, and the dead one."""
        return [topic for lane in LANES for topic in self.lane_topics(lane)] + [self.dead_topic]

    def consumer_group(self, lane: str) -> str:
        return f"{self.group or self.prefix}.{lane}"
