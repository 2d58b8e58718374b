"""SQLAlchemy 2.0 storage for SQLite (embedded default) and PostgreSQL (production)."""
