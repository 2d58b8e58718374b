"""Ordertrail: an order-tracking-to-revenue subledger."""

__version__ = "0.1.0"
