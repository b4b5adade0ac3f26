"""Vulnerability matchers: one per ecosystem family; generic.py covers every language ecosystem."""
