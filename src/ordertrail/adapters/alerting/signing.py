"""Alert webhook signatures: HMAC-SHA256 over the timestamp and the exact body bytes.

The receiver recomputes `hex(HMAC_SHA256(secret, timestamp + "." + body))`, compares it with the
`v1=` value of `Ordertrail-Signature` in constant time, and refuses timestamps older than the
tolerance so a captured request cannot be replayed later. docs/operators/monitoring.md shows it.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Ordertrail-Signature"
TIMESTAMP_HEADER = "Ordertrail-Timestamp"
ID_HEADER = "Ordertrail-Notification-Id"
TOLERANCE_S = 300


def signature(*, secret: bytes, timestamp: int, body: bytes) -> str:
    """The `Ordertrail-Signature` header value for a body sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(
    *,
    secret: bytes,
    timestamp_header: str,
    signature_header: str,
    body: bytes,
    now_s: float,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """Say whether a received webhook is authentic and fresh (what a receiver should run)."""
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs(now_s - timestamp) > tolerance_s:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected.encode(), signature_header.strip().encode())
