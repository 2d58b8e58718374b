"""Use cases (ingest, queries, keys), written against ports so storage and transport can change."""
