"""Webhook signatures of the six tracking providers: `sign` (for tests and the simulator) and
`verify`, each over the raw request bytes, compared in constant time.

| provider | header | value |
|---|---|---|
| aftership | aftership-hmac-sha256 | base64 HMAC-SHA256(secret, body) |
| easypost | x-hmac-signature | "hmac-sha256-hex=" + hex HMAC-SHA256(NFKD(secret), body) |
| shippo | shippo-auth-signature | "t=<unix>,v1=" + hex HMAC-SHA256(secret, "<unix>." + body) |
| ups | credential | the credential given in the Track Alert subscription |
| fedex | fdx-signature | base64 HMAC-SHA256(security token, body) |
| 17track | sign | hex SHA-256(body + "/" + key) |

Sources: aftership.com/docs/tracking/webhook/webhook-signature; EasyPost's webhook guide (NFKD
secret, hex digest); docs.goshippo.com/tracking/webhook-security (HMAC); UPS-API
api-documentation UPSTrackAlert.yaml (`credential` header); FedEx Advanced Integrated Visibility
business rules (fdx-signature); 17TRACK API v2.2 webhook notes (sign = sha256(body/key)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

PROVIDERS = ("aftership", "easypost", "shippo", "ups", "fedex", "17track")
SHIPPO_TOLERANCE_S = 300


class SignatureInvalid(Exception):
    """The request is not signed by the configured secret (or its timestamp is out of bounds)."""


@dataclass(frozen=True, slots=True)
class Scheme:
    header: str
    # (secret, body, unix time) -> the header value a genuine request carries.
    sign: Callable[[str, bytes, int], str]


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _aftership(secret: str, body: bytes, _now: int) -> str:
    return base64.b64encode(_hmac(secret.encode(), body)).decode()


def _easypost(secret: str, body: bytes, _now: int) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + _hmac(key, body).hex()


def _shippo(secret: str, body: bytes, now: int) -> str:
    return f"t={now},v1=" + _hmac(secret.encode(), f"{now}.".encode() + body).hex()


def _ups(secret: str, _body: bytes, _now: int) -> str:
    return secret


def _fedex(secret: str, body: bytes, _now: int) -> str:
    return base64.b64encode(_hmac(secret.encode(), body)).decode()


def _seventeen(secret: str, body: bytes, _now: int) -> str:
    return hashlib.sha256(body + b"/" + secret.encode()).hexdigest()


SCHEMES: dict[str, Scheme] = {
    "aftership": Scheme("aftership-hmac-sha256", _aftership),
    "easypost": Scheme("x-hmac-signature", _easypost),
    "shippo": Scheme("shippo-auth-signature", _shippo),
    "ups": Scheme("credential", _ups),
    "fedex": Scheme("fdx-signature", _fedex),
    "17track": Scheme("sign", _seventeen),
}


def sign(*, provider: str, secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """The signature header a provider would send with `body` at `now`."""
    scheme = SCHEMES[provider]
    return {scheme.header: scheme.sign(secret, body, int(now.timestamp()))}


def _same(received: str, expected: str) -> bool:
    return hmac.compare_digest(received.encode(), expected.encode())


def _shippo_parts(value: str) -> tuple[int, str]:
    """Read `t=<unix>,v1=<hex>` (spaces after commas allowed) into (timestamp, signature)."""
    parts = dict(part.strip().partition("=")[::2] for part in value.split(","))
    try:
        return int(parts["t"]), parts["v1"]
    except (KeyError, ValueError):
        raise SignatureInvalid("the Shippo signature is not t=<unix time>,v1=<hex>") from None


def verify(
    *, provider: str, secret: str, body: bytes, headers: Mapping[str, str], now: datetime
) -> None:
    """Raise SignatureInvalid unless `headers` carry `provider`'s valid signature of `body`.

    `headers` are looked up by lower-case name. A missing or empty secret never verifies.
    """
    if not secret:
        raise SignatureInvalid("no secret is configured")
    scheme = SCHEMES[provider]
    received = headers.get(scheme.header)
    if not received:
        raise SignatureInvalid(f"the {scheme.header} header is missing")
    if provider == "shippo":
        signed_at, signature = _shippo_parts(received)
        if abs(int(now.timestamp()) - signed_at) > SHIPPO_TOLERANCE_S:
            raise SignatureInvalid(
                f"the Shippo timestamp is more than {SHIPPO_TOLERANCE_S} s from now"
            )
        expected = _shippo(secret, body, signed_at).partition(",v1=")[2]
        if not _same(signature, expected):
            raise SignatureInvalid("the shippo-auth-signature does not match the body")
        return
    if not _same(received.strip(), scheme.sign(secret, body, int(now.timestamp()))):
        raise SignatureInvalid(f"the {scheme.header} signature does not match the body")
