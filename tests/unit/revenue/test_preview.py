"""The preview: the documented examples run and give the documented figures; nothing is kept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ordertrail.domain.money import MoneyError
from ordertrail.domain.revenue.errors import InvalidContract, ResidualNotAppropriate
from ordertrail.domain.revenue.preview import preview
from tests.unit.revenue.builders import catalogs, goods

DOC = Path(__file__).resolve().parents[3] / "docs" / "revenue" / "preview.md"
EXAMPLE = re.compile(r"<!-- example: ([a-z-]+) -->\s*```json\n(.*?)\n```", re.DOTALL)


def examples() -> dict[str, dict[str, Any]]:
    return {name: json.loads(body) for name, body in EXAMPLE.findall(DOC.read_text("utf-8"))}


def by_id(contract: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["obligation_id"]: o for o in contract["obligations"]}


def periods(contract: dict[str, Any]) -> dict[str, str]:
    return {row["period"]: row["revenue"] for row in contract["revenue_by_period"]}


def test_the_documentation_has_the_five_examples():
    assert set(examples()) == {"bundle", "discount-residual", "returns", "catch-up", "prospective"}


def test_the_bundle_example_allocates_on_relative_ssp_and_schedules_support_monthly():
    result = preview(request=examples()["bundle"])
    contract = result["contract"]
    assert [o["allocated"] for o in contract["obligations"]] == ["8250.00", "916.67", "1833.33"]
    assert periods(contract)["2024-02"] == "9319.45"
    assert periods(contract)["2025-01"] == "152.77"
    assert len(contract["revenue_by_period"]) == 12
    assert contract["balances"] == {
        "billed": "11000.00",
        "contract_liability": "0.00",
        "contract_asset": "0.00",
    }


def test_the_discount_and_residual_example_reproduces_ifrs_15_example_34_case_b():
    contract = preview(request=examples()["discount-residual"])["contract"]
    assert {k: v["allocated"] for k, v in by_id(contract).items()} == {
        "A/unit": "40",
        "B/unit": "33",
        "C/unit": "27",
        "D/unit": "30",
    }


def test_the_same_example_at_105_is_refused_as_case_c_says():
    request = examples()["discount-residual"]
    request["lines"][3]["unit_price"] = "5"
    with pytest.raises(ResidualNotAppropriate):
        preview(request=request)


def test_the_returns_example_reproduces_ifrs_15_example_22():
    contract = preview(request=examples()["returns"])["contract"]
    totals: dict[str, float] = {}
    for entry in contract["entries"][:2]:
        for p in entry["postings"]:
            totals[p["account"]] = (
                totals.get(p["account"], 0) + float(p["debit"]) - float(p["credit"])
            )
    assert totals["revenue_goods"] == -9700
    assert totals["refund_liabilities"] == -300
    assert totals["return_assets"] == 180
    assert totals["cost_of_sales"] == 5820
    assert totals["inventory"] == -6000
    ob = by_id(contract)["1/unit"]
    assert (ob["refund_liability"], ob["returned"], ob["unrecognized"]) == (
        "100.00",
        "200.00",
        "0.00",
    )
    assert contract["balances"]["contract_liability"] == "200.00"


def test_the_catch_up_example_reproduces_ifrs_15_example_8_with_exact_progress():
    result = preview(request=examples()["catch-up"])
    assert periods(result["contract"]) == {"2024-12": "600000.00", "2025-01": "91463.41"}
    assert result["modifications"][0]["treatment"] == "cumulative_catch_up"


def test_the_prospective_example_reproduces_ifrs_15_example_5_case_b():
    result = preview(request=examples()["prospective"])
    contract = result["contract"]
    assert periods(contract) == {"2024-02": "6000.00", "2024-03": "-900.00", "2024-04": "8400.00"}
    obligations = by_id(contract)
    assert obligations["1/unit"]["status"] == "terminated"
    assert (obligations["1/unit@v2"]["allocated"], obligations["2/unit"]["allocated"]) == (
        "5600.00",
        "2800.00",
    )


def test_priced_at_its_ssp_the_same_change_splits_off_a_separate_contract():
    request = examples()["prospective"]
    request["facts"][1]["lines"][0]["unit_price"] = "95.00"
    request["facts"][1]["concession"] = "0"
    result = preview(request=request)
    assert result["modifications"][0]["treatment"] == "separate_contract"
    (separate,) = result["separate_contracts"]
    assert separate["contract_id"] == "IE-5-B+IE-5-B:fact-1"
    assert periods(separate) == {"2024-04": "2850.00"}


def test_a_requested_treatment_is_applied_and_reported_as_overridden():
    request = examples()["prospective"]
    request["facts"][1]["treatment"] = "cumulative_catch_up"
    (decision,) = preview(request=request)["modifications"]
    assert (decision["treatment"], decision["rules_chose"], decision["overridden"]) == (
        "cumulative_catch_up",
        "prospective",
        True,
    )


def test_the_same_request_gives_the_same_answer_and_the_request_is_untouched():
    request = examples()["bundle"]
    before = json.dumps(request, sort_keys=True)
    assert preview(request=request) == preview(request=request)
    assert json.dumps(request, sort_keys=True) == before


def test_lines_without_inline_obligations_use_the_catalogs_given():
    cats = catalogs(("G", (goods(),), {"unit": 500}))
    request = {
        "currency": "USD",
        "inception": "2024-01-01",
        "lines": [{"line_id": "1", "sku": "G", "quantity": 2, "unit_price": "5.00"}],
        "facts": [{"type": "delivered", "on": "2024-01-05", "line_id": "1", "quantity": 1}],
    }
    contract = preview(request=request, catalogs=cats)["contract"]
    assert periods(contract) == {"2024-01": "5.00"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"currency": "usd"}, ValidationError),
        ({"surprise": 1}, ValidationError),
        (
            {"lines": [{"line_id": "1", "sku": "G", "quantity": 1, "unit_price": "1.005"}]},
            MoneyError,
        ),
        ({"facts": [{"type": "invoice", "on": "2023-12-31", "amount": "1.00"}]}, InvalidContract),
        ({"through": "2023-12"}, InvalidContract),
    ],
)
def test_requests_that_cannot_be_previewed_are_refused(change, error):
    request = examples()["bundle"]
    request.update(change)
    if "lines" in change:
        request["lines"][0]["obligations"] = examples()["bundle"]["lines"][0]["obligations"]
    with pytest.raises(error):
        preview(request=request)
