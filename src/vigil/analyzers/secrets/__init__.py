"""Secret scanning: rules as data (builtin-rules.yaml, rules.py), one multi-pattern pass per file
(engine.py: hyperscan when installed, Python `re` otherwise, same results), allow rules, masking (mask.py)."""
