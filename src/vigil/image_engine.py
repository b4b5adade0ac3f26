"""Image scan pipeline (issue 4): image source -> per-layer analysis (cached) -> merge -> detect -> Report."""
