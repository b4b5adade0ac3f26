"""Built-in checks: one module per check or per family, each exposing CHECKS: tuple[Check, ...]."""
