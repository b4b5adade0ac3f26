"""Language lockfile and manifest analyzers; one module per format."""
