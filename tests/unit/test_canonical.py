"""Canonical JSON and checksums: the same value always gives the same bytes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.domain.canonical import canonical_json, canonical_json_of_own, sha256_hex


def test_sorts_keys_at_every_depth_and_drops_whitespace():
    value = {"b": 1, "a": {"y": [3, {"d": 1, "c": 2}], "x": None}}
    assert canonical_json(value) == '{"a":{"x":null,"y":[3,{"c":2,"d":1}]},"b":1}'


def test_gives_the_same_text_whatever_the_key_insertion_order():
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})


def test_keeps_non_ascii_text_as_utf8_rather_than_escapes():
    assert canonical_json({"name": "Zoë 東京"}) == '{"name":"Zoë 東京"}'


def test_keeps_list_order_because_it_is_meaningful():
    assert canonical_json([2, 1]) != canonical_json([1, 2])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_refuses_non_finite_numbers(value):
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": value})


def test_checksum_is_the_sha256_of_the_utf8_bytes():
    text = canonical_json({"b": "é", "a": 1})
    assert sha256_hex(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert sha256_hex(text) == sha256_hex(canonical_json({"a": 1, "b": "é"}))


def test_checksum_is_pinned_so_a_change_of_serialization_is_noticed():
    # Stored checksums rest on this exact byte form; changing it breaks idempotency of history.
    assert canonical_json({"event_id": "e1", "n": 1.5}) == '{"event_id":"e1","n":1.5}'
    assert (
        sha256_hex('{"a":1}') == "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    )


_OWN_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=("Cs",))), children, max_size=4
        )
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(_OWN_VALUES)
def test_the_fast_encoder_writes_exactly_the_canonical_text_for_values_ordertrail_builds(value):
    assert canonical_json_of_own(value) == canonical_json(value)


def test_the_fast_encoder_matches_on_an_order_state_and_a_milestone_message():
    value = {
        "lines": [{"line_id": "1", "sku": "Ä-é", "quantity": 3, "stock_as_of": None}],
        "note": 'tab\there "quoted" \\ and \u2028 and \x01',
        "nested": {"b": 2, "a": [True, False, None]},
    }
    assert canonical_json_of_own(value) == canonical_json(value)
