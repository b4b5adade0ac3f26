"""Shells: thin front ends (CLI now; server, operator and UI later). Parse input -> settings -> engine -> output."""
