"""Step 2: obligations from lines through the templates; shipping terms decide the trigger."""

from __future__ import annotations

from datetime import date

import pytest

from ordertrail.domain.revenue.errors import InvalidContract
from ordertrail.domain.revenue.obligations import identify_obligations
from tests.unit.revenue.builders import D0, catalogs, contract, goods, order, service

BUNDLE = (
    goods("hardware"),
    goods("installation", nature="installation", trigger="manual"),
    service("support", term_months=12, service_starts="delivery"),
)


def test_one_line_carries_several_obligations_in_template_order():
    """IFRS 15 IE Example 11 Case A (IE49-IE58) and ASC 606-10-55-141 to 55-145: a software
    licence, installation, updates and support are distinct; a line may carry several
    promises. Qualitative: the example has no figures to reproduce."""
    cats = catalogs(("SRV", BUNDLE, {"hardware": 9000, "installation": 1000, "support": 2000}))
    state = contract(cats, order(("1", "SRV", 1, 11000)))
    assert [ob.obligation_id for ob in state.obligations] == [
        "1/hardware",
        "1/installation",
        "1/support",
    ]
    assert [ob.obligation.revenue_account for ob in state.obligations] == [
        "revenue_goods",
        "revenue_installation",
        "revenue_services",
    ]


@pytest.mark.parametrize(
    ("terms", "trigger"),
    [("fob_shipping_point", "shipment"), ("fob_destination", "delivery"), ("dap", "delivery")],
)
def test_shipping_terms_decide_when_control_of_goods_passes(terms, trigger):
    cats = catalogs(("G", (goods(),), {"unit": 100}))
    state = contract(cats, order(("1", "G", 1, 100), shipping_terms=terms))
    assert state.obligations[0].obligation.trigger == trigger


def test_unknown_shipping_terms_are_refused():
    cats = catalogs(("G", (goods(),), {"unit": 100}))
    with pytest.raises(InvalidContract):
        contract(cats, order(("1", "G", 1, 100), shipping_terms="ex_works"))


def test_a_service_starting_at_inception_has_its_term_and_one_starting_at_delivery_waits():
    cats = catalogs(
        ("S", (service("now"), service("later", service_starts="delivery")), {"now": 1, "later": 1})
    )
    now, later = contract(cats, order(("1", "S", 1, 2))).obligations
    assert (now.obligation.service_start, now.obligation.service_end) == (D0, date(2025, 1, 1))
    assert later.obligation.service_start is None


def test_ssps_are_read_as_of_inception_for_each_component():
    cats = catalogs(("SRV", BUNDLE, {"hardware": 9000, "installation": 1000, "support": 2000}))
    found = identify_obligations(
        lines=[order(("1", "SRV", 2, 1)).lines[0]],
        currency="USD",
        shipping_terms="fob_destination",
        priced_on=order(("1", "SRV", 1, 1)).placed_on,
        catalogs=cats,
    )
    assert [o.ssp_total_minor for o in found] == [18000, 2000, 4000]
