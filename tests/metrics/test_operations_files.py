"""docs/operations loads: the Prometheus rule file and the Grafana dashboard parse, every PromQL
expression parses, and every series they name is one a running Ordertrail exports.

The exported names are read from a live app's /metrics after an end-to-end run, so renaming a
series without its rules and panels fails here rather than silently in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.entrypoints.api import create_app
from tests.conftest import NOW, make_principal
from tests.metrics.support import OPENMETRICS
from tests.metrics.test_series import exercise
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.support import pipeline_app

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations"
RULES = OPERATIONS / "prometheus" / "rules.yml"
DASHBOARD = OPERATIONS / "grafana" / "ordertrail.json"
# Series Prometheus writes itself for every target.
SYNTHETIC = {"up"}
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}
# Grafana's own variables stand for a range in these positions; PromQL needs a duration there.
GRAFANA_RANGES = re.compile(r"\$__(rate_interval|interval|range)\b")
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A running app's OpenMetrics exposition after an end-to-end run."""
    engine = make_engine(sqlite_url(tmp_path_factory.mktemp("ops") / "ordertrail.db"))
    upgrade(engine)
    clock = FixedClock(NOW)
    recorder = RecordingHandler(clock=clock)
    app = pipeline_app(engine, clock, recorder, retry_attempts_max=1)
    _, token = make_principal(app, tenant_id="ops", roles=("operator",))
    with TestClient(create_app(app)) as client:
        exercise(app, client, recorder)
        response = client.get(
            "/metrics", headers={"Authorization": f"Bearer {token}", "Accept": OPENMETRICS}
        )
    engine.dispose()
    assert response.status_code == 200
    return response.text


@pytest.fixture(scope="module")
def exported(exposition: str) -> dict[str, set[str]]:
    """Every series name the app exports, with the label names seen on it."""
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.setdefault(family.name + suffix, set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


@cache
def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


@cache
def recorded() -> frozenset[str]:
    return frozenset({rule["record"] for rule in rules() if "record" in rule})


def selectors(expr: str) -> Iterator[Any]:
    """Every vector selector of a PromQL expression (Grafana range variables made durations)."""
    found: list[Any] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(promql_parser.parse(GRAFANA_RANGES.sub("5m", expr)), visit)
    yield from found


def assert_names_exported(expr: str, exported: dict[str, set[str]]) -> None:
    known = set(exported) | recorded() | SYNTHETIC
    for selector in selectors(expr):
        assert selector.name in known, f"{selector.name} is not exported ({expr})"
        if selector.name not in exported:
            continue
        for matcher in selector.matchers.matchers:
            assert matcher.name in exported[selector.name], (
                f"{selector.name} has no label {matcher.name} ({expr})"
            )


def _matches(matcher: Any, labels: dict[str, str]) -> bool:
    """Prometheus label matching: regexes are anchored at both ends; a missing label is ""."""
    actual = labels.get(matcher.name, "")
    op = str(matcher.op).rsplit(".", 1)[-1]
    if op in ("Re", "NotRe"):
        hit = re.fullmatch(matcher.value, actual) is not None
        return hit if op == "Re" else not hit
    return (actual == matcher.value) == (op == "Equal")


class TestPrometheusRules:
    def test_the_file_has_the_rule_file_structure(self):
        document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
        assert set(document) == {"groups"}
        names = [group["name"] for group in document["groups"]]
        assert len(names) == len(set(names))
        for group in document["groups"]:
            assert set(group) <= {"name", "interval", "rules", "limit"}
            assert group["rules"]
            for rule in group["rules"]:
                assert isinstance(rule["expr"], str)
                if "record" in rule:
                    assert set(rule) <= {"record", "expr", "labels"}
                    assert NAME.match(rule["record"])
                    assert ":" in rule["record"]
                else:
                    assert set(rule) <= {
                        "alert",
                        "expr",
                        "for",
                        "keep_firing_for",
                        "labels",
                        "annotations",
                    }
                    assert re.match(r"^[A-Za-z][A-Za-z0-9]*$", rule["alert"])
                    assert DURATION.match(rule.get("for", "0s"))
                    assert rule["labels"]["severity"] in {"page", "warning", "ticket"}
                    assert rule["annotations"]["summary"]
                    assert all(isinstance(v, str) for v in rule["annotations"].values())

    def test_every_expression_parses_and_names_only_exported_series(self, exported):
        for rule in rules():
            assert_names_exported(rule["expr"], exported)

    def test_every_alert_name_is_unique(self):
        alerts = [rule["alert"] for rule in rules() if "alert" in rule]
        assert len(alerts) == len(set(alerts))

    @pytest.mark.parametrize(
        ("slo", "budget"),
        [
            ("ingest_availability", 0.001),
            ("ingest_latency", 0.01),
            ("delivery_revenue_latency", 0.01),
        ],
    )
    def test_each_slo_has_its_windows_and_the_workbooks_two_page_alerts(
        self, slo: str, budget: float
    ):
        for window in ("5m", "30m", "1h", "6h"):
            assert f"ordertrail:{slo}:error_ratio_rate{window}" in recorded()
        by_name = {rule.get("alert"): rule for rule in rules()}
        camel = "".join(part.capitalize() for part in slo.split("_"))
        # Google SRE workbook, table 5-8: 2 % of the budget in 1 h, 5 % in 6 h.
        for tier, long, short, factor in (("Fast", "1h", "5m", 14.4), ("Slow", "6h", "30m", 6)):
            expr = by_name[f"Ordertrail{camel}BudgetBurn{tier}"]["expr"]
            assert f"error_ratio_rate{long} > ({factor:g} * {budget:g})" in expr
            assert f"error_ratio_rate{short} > ({factor:g} * {budget:g})" in expr

    def test_the_slo_selectors_match_the_series_the_app_exports(self, exposition: str):
        """Label values too: a wrong route, consumer or bucket bound would select nothing."""
        found = [s for f in text_string_to_metric_families(exposition) for s in f.samples]
        for rule in rules():
            if not rule.get("record", "").endswith("error_ratio_rate5m"):
                continue
            for selector in selectors(rule["expr"]):
                # The run answered no request with a 5xx, so the "bad" selector has no sample.
                wanted = [m for m in selector.matchers.matchers if m.value != "5xx"]
                assert any(
                    sample.name == selector.name and all(_matches(m, sample.labels) for m in wanted)
                    for sample in found
                ), f"{selector} selects nothing"

    def test_the_operational_alerts_the_issue_asks_for_exist(self):
        exprs = " ".join(rule["expr"] for rule in rules() if "alert" in rule)
        for series in (
            "ordertrail_outbox_lag_seconds",
            "ordertrail_dead_letter_depth_messages",
            "ordertrail_shipments_stagnant",
            "ordertrail_carrier_unmapped_codes_total",
            "ordertrail_carrier_quota_remaining",
            "ordertrail_carrier_throttled_total",
        ):
            assert series in exprs


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


class TestGrafanaDashboard:
    def test_the_dashboard_has_the_schema_fields_grafana_imports(self):
        board = dashboard()
        assert {"title", "uid", "schemaVersion", "panels", "templating", "time"} <= set(board)
        assert isinstance(board["schemaVersion"], int)
        assert board["schemaVersion"] >= 36
        assert re.match(r"^[a-zA-Z0-9_-]{1,40}$", board["uid"])
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            assert {"id", "type", "title", "gridPos"} <= set(panel)
            grid = panel["gridPos"]
            assert grid["x"] >= 0
            assert grid["x"] + grid["w"] <= 24
            assert grid["h"] > 0

    def test_no_two_panels_overlap(self):
        cells: set[tuple[int, int]] = set()
        for panel in dashboard()["panels"]:
            g = panel["gridPos"]
            mine = {
                (x, y)
                for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])
            }
            assert not cells & mine, panel["title"]
            cells |= mine

    def test_every_panel_query_parses_and_names_only_exported_series(self, exported):
        queries = 0
        for panel in dashboard()["panels"]:
            if panel["type"] == "row":
                continue
            refs = [target["refId"] for target in panel["targets"]]
            assert refs
            assert len(refs) == len(set(refs))
            for target in panel["targets"]:
                assert_names_exported(target["expr"], exported)
                queries += 1
        assert queries >= 20

    def test_every_variable_a_query_uses_is_defined_and_its_values_come_from_exported_series(
        self, exported
    ):
        board = dashboard()
        defined = {variable["name"] for variable in board["templating"]["list"]}
        assert {"datasource", "carrier", "provider"} <= defined
        text = json.dumps(board["panels"])
        used = set(re.findall(r"\$\{?([a-z]+)\b", text)) - {"__"}
        assert used <= defined
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            query = variable["query"]["query"]
            match = re.fullmatch(r"label_values\((?:(\w+), )?(\w+)\)", query)
            assert match, query
            metric, label = match.groups()
            if metric is not None:
                assert label in exported[metric]

    def test_the_stagnant_shipments_panel_drills_down_by_carrier(self):
        [panel] = [p for p in dashboard()["panels"] if p["title"].startswith("Stagnant shipments")]
        assert "$carrier" in panel["targets"][0]["expr"]
        assert any(
            "var-carrier=${__field.labels.carrier}" in link["url"]
            for link in panel["fieldConfig"]["defaults"]["links"]
        )


def test_every_runbook_annotation_points_at_a_section_of_the_operations_guide():
    readme = (OPERATIONS / "README.md").read_text(encoding="utf-8")
    # GitHub's anchors: lower case, spaces to hyphens, punctuation other than hyphens dropped.
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)
    }
    for rule in rules():
        if "alert" not in rule:
            continue
        path, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert path == "docs/operations/README.md"
        assert anchor in anchors, rule["alert"]
