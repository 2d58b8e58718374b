"""Adapters: the only place for SQL, brokers and network clients. They implement the ports."""
