"""Ingestion stages: reading sources, resolving, fetching."""
