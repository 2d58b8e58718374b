"""A carrier simulator: the UPS, DHL and USPS tracking APIs on loopback, for tests and the demo.

It serves the same paths and response shapes as the real APIs, enforces configurable rate limits
(429 with Retry-After), and counts every request so a test can prove no request ever exceeded a
limit. Parcels follow seeded, reproducible journeys with the faults real carriers show: scans that
appear late, twice, out of order or never.
"""
