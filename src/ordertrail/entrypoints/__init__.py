"""Entry points: the HTTP API, the command line and (later) workers."""
