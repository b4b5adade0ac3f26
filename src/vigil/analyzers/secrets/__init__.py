"""Secret scanning: rules as data (builtin-rules.yaml, rules.py), one multi-pattern pass per file
(engine.py: hyperscan when installed, Python `re` otherwise, same results), allow rules, masking (mask.py)."""

from pathlib import Path as _Path

# The engine's name and version in cache keys (with the rule-set digest): VERSION is bumped when the engine's matching
# semantics change. Here, not in engine.py or rules.py, so a cache key is made without importing either.
NAME = "secret"
VERSION = 2


def packaged_rules_digest() -> str:
    """RuleSet.digest() of the packaged rules (rules.builtin()), as tools/gen_secret_rules.py wrote it beside them:
    a warm rescan needs the digest for its cache keys but no rule, and loading the 205 rules to hash them cost more
    than the rest of its cache lookups (a test keeps the file equal to the computed digest)."""
    return (_Path(__file__).parent / "builtin-rules.sha256").read_text(encoding="ascii").strip()
