"""The service desk webhook's signature: HMAC-SHA256 over `<timestamp>.<raw body>`, 5 minutes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ordertrail.domain.disputes import (
    SignatureInvalid,
    WebhookNotConfigured,
    signature_of,
    verify_signature,
)
from tests.conftest import NOW

BODY = b'{"order_id":"SO-1","reason_code":"damaged","description":"x","external_ref":"T-1"}'
STAMP = str(int(NOW.timestamp()))


def _headers(signature: str, stamp: str = STAMP) -> dict[str, str]:
    return {"x-ordertrail-timestamp": stamp, "x-ordertrail-signature": signature}


def test_the_signature_is_the_documented_hmac() -> None:
    expected = hmac.new(b"s3cret", f"{STAMP}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature_of(secret="s3cret", timestamp=STAMP, body=BODY) == f"v1={expected}"


def test_the_worked_example_in_the_docs_holds() -> None:
    """docs/revenue/disputes.md computes this with openssl; a service desk can check against it."""
    body = (
        b'{"order_id":"SO-1001","line_ids":["1"],"reason_code":"damaged",'
        b'"description":"Box crushed","external_ref":"DESK-42"}'
    )
    assert signature_of(secret="whsec_test", timestamp="1795867200", body=body) == (
        "v1=736fec1cae2da293641b3ca1547131446d59a76a6df2c072b2ffefcf9c14538c"
    )


def test_a_good_signature_within_five_minutes_passes() -> None:
    good = signature_of(secret="s3cret", timestamp=STAMP, body=BODY)
    verify_signature(secret="s3cret", headers=_headers(good), body=BODY, now=NOW)
    later = NOW + timedelta(seconds=300)
    verify_signature(secret="s3cret", headers=_headers(good), body=BODY, now=later)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("other", BODY, NOW),
        ("s3cret", BODY + b" ", NOW),
        ("s3cret", BODY, NOW + timedelta(seconds=301)),
        ("s3cret", BODY, NOW - timedelta(seconds=301)),
    ],
    ids=["wrong secret", "changed body", "stale", "from the future"],
)
def test_a_bad_or_stale_signature_is_refused(secret: str, body: bytes, now: object) -> None:
    good = signature_of(secret="s3cret", timestamp=STAMP, body=BODY)
    with pytest.raises(SignatureInvalid):
        verify_signature(secret=secret, headers=_headers(good), body=body, now=now)  # type: ignore[arg-type]


def test_it_fails_closed_without_a_secret_or_headers() -> None:
    with pytest.raises(WebhookNotConfigured):
        verify_signature(secret=None, headers={}, body=BODY, now=NOW)
    with pytest.raises(WebhookNotConfigured):
        verify_signature(secret="", headers={}, body=BODY, now=NOW)
    with pytest.raises(SignatureInvalid):
        verify_signature(secret="s3cret", headers={}, body=BODY, now=NOW)


def test_the_database_refuses_to_change_or_delete_evidence(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO dispute_evidence (tenant_id, evidence_id, dispute_id, kind, filename,"
                " media_type, size_bytes, sha256, content, note, attached_by, attached_at)"
                " VALUES ('acme', 'e1', 'd1', 'other', 'a', 'text/plain', 1, 'h', :c, '', 'k', :t)"
            ),
            {"c": b"a", "t": NOW.replace(tzinfo=None)},
        )
    for statement in (
        "UPDATE dispute_evidence SET content = :c WHERE evidence_id = 'e1'",
        "DELETE FROM dispute_evidence WHERE evidence_id = 'e1'",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement), {"c": b"forged"})
