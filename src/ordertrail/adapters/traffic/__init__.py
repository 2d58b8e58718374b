"""Seeded, realistic order traffic for the demo, benchmarks and tests.

`generate_traffic(seed=..., orders_count=..., month_start=...)` returns a month of events for one
tenant in the order the source systems would send them: multi-line orders in several currencies,
stock and backorders, split shipments across carriers, deliveries with proof, acceptances,
cancellations, amendments, returns, invoices and credit notes, holds and disputes, plus late
arrivals, resends and events ingest must quarantine. It draws from `random.Random(seed)` only, so
the same arguments always give the same events.
"""

from ordertrail.adapters.traffic.mischief import Intent
from ordertrail.adapters.traffic.traffic import Traffic, generate_traffic, last_complete_month

__all__ = ["Intent", "Traffic", "generate_traffic", "last_complete_month"]
