"""Signatures over the raw bytes, per provider, failing closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordertrail.adapters.carriers.signing import PROVIDERS, SignatureInvalid, sign, verify
from tests.carriers.samples import (
    AFTERSHIP_SECRET,
    AFTERSHIP_SIGNATURE,
    DELIVERED,
    EASYPOST_SECRET,
    EASYPOST_SIGNATURE,
    fixture,
)

NOW = datetime(2026, 3, 12, 19, 30, tzinfo=UTC)


def test_the_aftership_fixture_signs_to_the_documented_header_value():
    body = fixture("aftership_delivered.json")
    headers = sign(provider="aftership", secret=AFTERSHIP_SECRET, body=body, now=NOW)
    assert headers == {"aftership-hmac-sha256": AFTERSHIP_SIGNATURE}
    verify(provider="aftership", secret=AFTERSHIP_SECRET, body=body, headers=headers, now=NOW)


def test_the_easypost_fixture_signs_to_the_documented_header_value():
    body = fixture("easypost_delivered.json")
    headers = sign(provider="easypost", secret=EASYPOST_SECRET, body=body, now=NOW)
    assert headers == {"x-hmac-signature": EASYPOST_SIGNATURE}
    verify(provider="easypost", secret=EASYPOST_SECRET, body=body, headers=headers, now=NOW)


def test_easypost_normalizes_the_secret_to_nfkd_before_signing():
    body = b"{}"
    composed = sign(provider="easypost", secret="caf\u00e9", body=body, now=NOW)
    decomposed = sign(provider="easypost", secret="cafe\u0301", body=body, now=NOW)
    assert composed == decomposed


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signed_body_verifies_and_a_tampered_one_does_not(provider: str):
    body = DELIVERED[provider][0]
    headers = sign(provider=provider, secret="s3cret", body=body, now=NOW)
    verify(provider=provider, secret="s3cret", body=body, headers=headers, now=NOW)
    if provider != "ups":  # UPS sends a shared credential, not a signature of the body.
        with pytest.raises(SignatureInvalid):
            verify(provider=provider, secret="s3cret", body=body + b" ", headers=headers, now=NOW)
    with pytest.raises(SignatureInvalid):
        verify(provider=provider, secret="other", body=body, headers=headers, now=NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_missing_header_or_an_empty_secret_never_verifies(provider: str):
    body = DELIVERED[provider][0]
    with pytest.raises(SignatureInvalid):
        verify(provider=provider, secret="s3cret", body=body, headers={}, now=NOW)
    headers = sign(provider=provider, secret="", body=body, now=NOW)
    with pytest.raises(SignatureInvalid):
        verify(provider=provider, secret="", body=body, headers=headers, now=NOW)


def test_shippo_signs_the_timestamp_and_body_as_t_and_v1():
    [value] = sign(provider="shippo", secret="s", body=b"{}", now=NOW).values()
    assert value.startswith(f"t={int(NOW.timestamp())},v1=")


@pytest.mark.parametrize("skew", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_a_shippo_timestamp_outside_five_minutes_is_rejected(skew: timedelta):
    body = DELIVERED["shippo"][0]
    headers = sign(provider="shippo", secret="s", body=body, now=NOW + skew)
    with pytest.raises(SignatureInvalid, match="300 s"):
        verify(provider="shippo", secret="s", body=body, headers=headers, now=NOW)


def test_a_shippo_timestamp_within_five_minutes_is_accepted():
    body = DELIVERED["shippo"][0]
    headers = sign(provider="shippo", secret="s", body=body, now=NOW - timedelta(minutes=4))
    verify(provider="shippo", secret="s", body=body, headers=headers, now=NOW)


def test_a_shippo_signature_with_its_timestamp_changed_is_rejected():
    body = DELIVERED["shippo"][0]
    [value] = sign(provider="shippo", secret="s", body=body, now=NOW).values()
    forged = value.replace(f"t={int(NOW.timestamp())}", f"t={int(NOW.timestamp()) + 1}")
    with pytest.raises(SignatureInvalid):
        verify(
            provider="shippo",
            secret="s",
            body=body,
            headers={"shippo-auth-signature": forged},
            now=NOW,
        )


def test_a_shippo_signature_with_a_space_after_the_comma_still_verifies():
    body = DELIVERED["shippo"][0]
    [value] = sign(provider="shippo", secret="s", body=body, now=NOW).values()
    spaced = {"shippo-auth-signature": value.replace(",v1=", ", v1=")}
    verify(provider="shippo", secret="s", body=body, headers=spaced, now=NOW)
