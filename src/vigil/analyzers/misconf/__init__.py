"""Misconfiguration scanning: parsers per config type (dockerfile, kubernetes, helm, compose) and checks."""
