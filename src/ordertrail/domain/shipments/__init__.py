"""Shipments: canonical carrier status, scans, versioned provider mappings and root causes."""
