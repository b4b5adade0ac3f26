"""`vigil operator`: kopf wiring for the reconciler in `vigil.operator` (the only place kopf is imported)."""
