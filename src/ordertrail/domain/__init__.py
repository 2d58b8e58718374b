"""Pure domain model: no I/O, no clock, no randomness. Time, ids and configuration are arguments."""
