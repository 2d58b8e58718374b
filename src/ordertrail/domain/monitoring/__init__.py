"""Monitoring: stagnation rules, alerts and their escalation, the root-cause Pareto, anomalies.

Pure: the clock's `now`, the rules and the counts are arguments; the database evaluates the rules
set-based and the services wire the two together.
"""
