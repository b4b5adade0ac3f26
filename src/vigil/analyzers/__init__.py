"""Analyzers: pure functions from (path, bytes) to inventory records."""
