from tests.builders import delivered, dispatched, placed, qty
from tests.conftest import make_principal


def test_an_order_placed_shipped_and_delivered_is_delivered(app):
    principal, _ = make_principal(app)
    results = app.ingest(
        raw_events=[
            placed(),
            dispatched("S1", qty(l1=2, l2=1), minutes=10),
            delivered("S1", minutes=20),
        ],
        principal=principal,
    )
    assert [r.outcome for r in results] == ["applied"] * 3
    order = app.queries.get_order(tenant_id="acme", order_id="SO-1")
    assert order["status"] == "delivered"
