"""Detectors: match inventory against the vulnerability DB."""
