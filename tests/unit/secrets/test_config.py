"""vigil-secret.yaml: trivy-secret.yaml's fields and semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.secrets import rules
from vigil.analyzers.secrets.engine import SecretScanner

TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"
AKID = "AKIA" + "QZ7W3RT5YP2M6N4K"
TEXT = f"GITHUB={TOKEN}\nAWS={AKID}\nINTERNAL=acme-int-7f3k9q2z8w1x\n".encode()


def _ids(cfg_yaml: str, path: str = "c.env", text: bytes = TEXT) -> list[str]:
    rs = rules.effective(rules.parse_config(cfg_yaml.encode()))
    return [f.rule_id for f in SecretScanner(rs).scan(path, text)]


def test_no_config_uses_builtin_rules() -> None:
    assert _ids("") == ["github-pat", "aws-access-key-id"]


def test_disable_rules() -> None:
    assert _ids("disable-rules: [github-pat]\n") == ["aws-access-key-id"]


def test_enable_builtin_rules_keeps_only_those() -> None:
    assert _ids("enable-builtin-rules: [aws-access-key-id]\n") == ["aws-access-key-id"]


def test_custom_rule_with_keywords_and_secret_group() -> None:
    cfg = """
rules:
  - id: acme-internal-token
    category: Acme
    title: Acme internal token
    severity: HIGH
    regex: 'INTERNAL=(?P<secret>acme-int-[a-z0-9]{12})'
    keywords: [acme-int-]
"""
    rs = rules.effective(rules.parse_config(cfg.encode()))
    found = SecretScanner(rs).scan("c.env", TEXT)
    f = next(x for x in found if x.rule_id == "acme-internal-token")
    assert (f.severity, f.category, f.start_line) == ("HIGH", "Acme", 3)
    assert f.match == "INTERNAL=" + "*" * 21


def test_custom_rule_path_filter_and_invalid_severity() -> None:
    cfg = """
rules:
  - id: only-in-ini
    regex: 'acme-int-[a-z0-9]{12}'
    keywords: [acme]
    severity: SEVERE
    path: '\\.ini$'
"""
    rs = rules.effective(rules.parse_config(cfg.encode()))
    assert rs.rules[-1].severity == "UNKNOWN"
    assert "only-in-ini" not in [f.rule_id for f in SecretScanner(rs).scan("c.env", TEXT)]
    assert "only-in-ini" in [f.rule_id for f in SecretScanner(rs).scan("c.ini", TEXT)]


def test_user_allow_rules_by_regex_and_path() -> None:
    assert _ids("allow-rules:\n  - id: ours\n    regex: 'Zq8xY2wV'\n") == ["aws-access-key-id"]
    assert _ids("allow-rules:\n  - id: fixtures\n    path: '^fixtures/'\n", path="fixtures/c.env") == []
    assert _ids("allow-rules:\n  - id: fixtures\n    path: '^fixtures/'\n", path="app/c.env") != []


def test_rule_level_allow_rules() -> None:
    cfg = """
rules:
  - id: acme-internal-token
    regex: 'acme-int-[a-z0-9]{12}'
    keywords: [acme-int-]
    allow-rules:
      - id: known
        regex: '7f3k9q'
"""
    assert "acme-internal-token" not in _ids(cfg)


def test_disable_allow_rules_reenables_test_paths() -> None:
    assert _ids("", path="tests/c.env") == []
    assert _ids("disable-allow-rules: [tests]\n", path="tests/c.env") == ["github-pat", "aws-access-key-id"]


def test_exclude_block() -> None:
    text = f"a=1\n# BEGIN FIXTURE\nGITHUB={TOKEN}\n# END FIXTURE\nAWS={AKID}\n".encode()
    cfg = "exclude-block:\n  description: fixtures\n  regexes: ['(?s)# BEGIN FIXTURE.*?# END FIXTURE']\n"
    assert _ids(cfg, text=text) == ["aws-access-key-id"]


def test_skip_patterns_replace_the_defaults() -> None:
    rs = rules.effective(rules.parse_config(b"skip-patterns: ['**/*.env']\n"))
    sc = SecretScanner(rs)
    assert not sc.wants("a/b.env")
    assert sc.wants("package-lock.json")  # the default list was replaced


@pytest.mark.parametrize("bad", [
    "rules: [{id: x}]\n",  # no regex
    "rules: [{id: x, regex: '(unclosed'}]\n",
    "allow-rules: [{id: y}]\n",  # neither regex nor path
    "unknown-key: 1\n",
    "- a list\n",
    "rules: {id: x}\n",
])
def test_malformed_config_is_a_user_error(bad: str) -> None:
    with pytest.raises(rules.SecretConfigError):
        rules.parse_config(bad.encode())


def test_engine_digest_follows_the_config_file(tmp_path: Path) -> None:
    import msgspec

    from vigil.pipeline.analyze import analyzer_set
    from vigil.settings import ScanOptions

    def secret_rules_digest(o: ScanOptions) -> str:
        """The secret part of an analysis cache key."""
        aset = analyzer_set(msgspec.structs.replace(o, scanners=("secret",)), "container_image")
        return next(n for n in aset.cache_names() if n.startswith("secret/"))

    (tmp_path / "vigil-secret.yaml").write_text("")
    opts = ScanOptions(target=tmp_path, db_path=tmp_path / "db", secret_config=tmp_path / "vigil-secret.yaml")
    d0 = secret_rules_digest(opts)
    assert d0 == secret_rules_digest(ScanOptions(target=tmp_path, db_path=tmp_path / "db"))
    assert d0.startswith("secret/2/sha256:")
    (tmp_path / "vigil-secret.yaml").write_text("disable-rules: [jwt-token]\n")
    assert secret_rules_digest(opts) != d0


def _rules_generator():  # type: ignore[no-untyped-def]
    from tests.tool_helpers import load_tool

    return load_tool("gen_secret_rules")


def test_builtin_rules_json_twin_is_current() -> None:
    """The engine reads builtin-rules.json; people edit builtin-rules.yaml: the two say the same."""
    gen = _rules_generator()
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(), "regenerate it with `make secret-rules`"


def test_builtin_rules_decode_to_what_the_yaml_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """builtin() decodes the JSON twin in one msgspec call: the rules equal those built from the YAML document one
    by one (defaults, severities, renamed secret groups), and no rule is built in Python at run time."""
    import yaml

    doc = yaml.safe_load(_rules_generator().SRC.read_text(encoding="utf-8"))
    built: list[object] = []
    real = rules._rule
    monkeypatch.setattr(rules, "_rule", lambda *a, **kw: built.append(a) or real(*a, **kw))
    rules.builtin.cache_clear()
    try:
        decoded = rules.builtin()
        assert built == []
    finally:
        rules.builtin.cache_clear()
    assert decoded == rules.from_document(doc)
    assert len(built) == len(decoded.rules) > 100  # from_document did build them (the check above means something)


def test_packaged_rules_digest_is_current() -> None:
    """Cache keys of scans with the packaged rules use the digest written beside them, not one computed from the
    rules: the two are the same, or a rule change would reuse analyses made with the old rules."""
    from vigil.analyzers.secrets import packaged_rules_digest
    from vigil.analyzers.secrets.rules import builtin

    assert packaged_rules_digest() == builtin().digest(), "regenerate it with `make secret-rules`"


def test_packaged_regexes_are_valid() -> None:
    """builtin() skips the per-regex check a user's config gets (it cost more than a scan of an empty directory):
    every packaged regex passes that check here instead, once."""
    import yaml

    doc = yaml.safe_load(_rules_generator().SRC.read_text(encoding="utf-8"))
    rs = rules.builtin()
    assert [r.id for r in rs.rules] == [d["id"] for d in doc["rules"]]
    for i, d in enumerate(doc["rules"]):
        checked = rules._rule(d, f"rules[{i}]")  # the check a user's rule gets (without the linear-matcher limits)
        assert checked == rs.rules[i]
    for i, d in enumerate(doc["allow-rules"]):
        assert rules._allow(d, f"allow-rules[{i}]") == rs.allow_rules[i]
