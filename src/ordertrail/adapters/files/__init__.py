"""Batch files: JSON Lines and CSV readers, the SHA-256 manifest, and the import progress log."""
