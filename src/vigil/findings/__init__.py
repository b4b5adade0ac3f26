"""Findings: vulnerabilities and the report that carries them."""
