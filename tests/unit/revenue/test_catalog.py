"""Catalogs: templates and SSPs are data, versioned by half-open effective date ranges."""

from __future__ import annotations

from datetime import date

import pytest

from ordertrail.domain.revenue.catalog import (
    InvalidTemplate,
    ObligationTemplate,
    SspRow,
    TemplateVersion,
    catalogs_of,
)
from ordertrail.domain.revenue.errors import NoSsp, NoTemplate, OverlappingVersions
from tests.unit.revenue.builders import goods, service

JAN, JUL = date(2024, 1, 1), date(2024, 7, 1)


def test_the_template_in_force_on_a_date_is_found_and_the_next_version_takes_over():
    cats = catalogs_of(
        versions=[
            TemplateVersion(sku="S", effective_from=JAN, effective_to=JUL, templates=(goods(),)),
            TemplateVersion(sku="S", effective_from=JUL, templates=(goods(), service())),
        ],
        ssp_rows=[],
    )
    assert len(cats.templates.templates_for(sku="S", on=date(2024, 6, 30))) == 1
    assert len(cats.templates.templates_for(sku="S", on=JUL)) == 2
    with pytest.raises(NoTemplate):
        cats.templates.templates_for(sku="S", on=date(2023, 12, 31))


def test_overlapping_versions_of_one_sku_are_refused():
    with pytest.raises(OverlappingVersions):
        catalogs_of(
            versions=[
                TemplateVersion(sku="S", effective_from=JAN, templates=(goods(),)),
                TemplateVersion(sku="S", effective_from=JUL, templates=(goods(),)),
            ],
            ssp_rows=[],
        )


def test_ssp_rows_are_versioned_per_sku_component_and_currency():
    rows = [
        SspRow("S", "unit", "USD", JAN, 100, effective_to=JUL),
        SspRow("S", "unit", "USD", JUL, 95),
        SspRow("S", "unit", "EUR", JAN, 90),
    ]
    cats = catalogs_of(versions=[], ssp_rows=rows)
    find = cats.ssps.ssp_for
    assert (
        find(sku="S", component="unit", currency="USD", on=date(2024, 6, 30)).unit_ssp_minor == 100
    )
    assert find(sku="S", component="unit", currency="USD", on=JUL).unit_ssp_minor == 95
    assert find(sku="S", component="unit", currency="EUR", on=JUL).unit_ssp_minor == 90
    with pytest.raises(NoSsp):
        find(sku="S", component="unit", currency="GBP", on=JUL)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"timing": "point_in_time"}, "needs a trigger"),
        ({"timing": "over_time"}, "needs a method"),
        ({"timing": "over_time", "method": "ratable_daily"}, "needs term_months"),
        (
            {"timing": "over_time", "method": "units_delivered", "trigger": "acceptance"},
            "units_delivered",
        ),
        (
            {
                "timing": "over_time",
                "method": "ratable_daily",
                "term_months": 12,
                "returnable": True,
            },
            "right of return",
        ),
        ({"timing": "point_in_time", "trigger": "delivery", "term_months": 0}, "term_months"),
    ],
)
def test_templates_that_contradict_themselves_are_refused(kwargs, problem):
    with pytest.raises(InvalidTemplate, match=problem):
        ObligationTemplate(component="x", nature="goods", **kwargs)


def test_a_template_uses_the_revenue_account_of_its_nature_unless_it_names_one():
    assert goods().account == "revenue_goods"
    assert service(nature="warranty_service").account == "revenue_warranty_services"
    assert goods(revenue_account="revenue_spares").account == "revenue_spares"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"unit_ssp_minor": None},
        {"unit_ssp_minor": -1},
        {"unit_ssp_minor": 10, "low_minor": 5},
        {"unit_ssp_minor": 10, "low_minor": 9, "high_minor": 8},
    ],
)
def test_ssp_rows_without_a_price_or_with_a_broken_range_are_refused(kwargs):
    with pytest.raises(NoSsp):
        SspRow(sku="S", component="unit", currency="USD", effective_from=JAN, **kwargs)


def test_an_ssp_row_may_have_no_price_when_the_residual_approach_is_allowed():
    row = SspRow("S", "d", "USD", JAN, None, residual_allowed=True, low_minor=15, high_minor=45)
    assert row.unit_ssp_minor is None
