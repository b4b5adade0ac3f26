"""The planted secrets never appear in any output format or log line."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import msgspec
import pytest

from tests.secret_corpus import planted_tree
from vigil.analyzers.secrets.mask import mask_text
from vigil.pipeline.scan import fs_source, scan
from vigil.reporters import get
from vigil.settings import ScanOptions
from vigil.shells.cli.logsetup import SecretMaskFilter


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("planted")
    _, values = planted_tree(root)
    return root, values


@pytest.mark.parametrize("fmt", ["json", "table", "sarif"])
def test_no_secret_in_report_output(planted: tuple[Path, list[str]], fmt: str) -> None:
    root, values = planted
    opts = ScanOptions(target=root, db_path=root / "none.db", scanners=("secret",), parallel=1)
    report = scan(fs_source(opts), opts)
    assert report.findings_count() > 130
    out = io.StringIO()
    get(fmt)(report, out)
    text = out.getvalue()
    assert "*****" in text or fmt == "sarif"
    leaked = [v for v in values if v in text]
    assert leaked == []


def test_log_filter_masks_secrets() -> None:
    token = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"
    record = logging.LogRecord("vigil.x", logging.WARNING, __file__, 1, "bad value %s in %s", (token, "a.env"), None)
    assert SecretMaskFilter().filter(record)
    assert token not in record.getMessage()
    assert "*****" in record.getMessage() and "a.env" in record.getMessage()


def test_log_filter_through_the_cli_handler(capsys: pytest.CaptureFixture[str]) -> None:
    from vigil.shells.cli.logsetup import setup_logging

    setup_logging(quiet=False, debug=False)
    token = "AKIA" + "QZ7W3RT5YP2M6N4K"
    logging.getLogger("vigil.pipeline").warning("cannot parse %s", f"AWS={token}")
    err = capsys.readouterr().err
    assert token not in err and "cannot parse" in err


def test_mask_text_leaves_ordinary_text_alone() -> None:
    s = "scanned 120 files in 0.3 s; skipped package-lock.json"
    assert mask_text(s) == s


def test_context_lines_never_show_a_secret_no_rule_matched() -> None:
    """A password or a random key beside a found token stays hidden in the finding's Match and Code lines,
    although no rule reports it; ordinary context stays readable."""
    from vigil.analyzers.secrets import rules
    from vigil.analyzers.secrets.engine import SecretScanner

    token = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"
    unmatched = ["hunter2-Correct-Horse", "Xk9fQ2mL7vR4tY8wZ3pN6bH1"]
    text = (f"# deploy settings\nDB_PASSWORD={unmatched[0]}\nGITHUB_TOKEN={token}\n"
            f"SIGNING={unmatched[1]} region=eu-west-1\n").encode()
    [f] = SecretScanner(rules.builtin()).scan("deploy.env", text)
    shown = msgspec.json.encode(f).decode()
    assert f.rule_id == "github-pat" and token not in shown
    assert not [v for v in unmatched if v in shown]
    assert "# deploy settings" in shown and "region=eu-west-1" in shown


def test_long_secrets_are_masked_to_their_last_character() -> None:
    """A secret longer than a displayed line (a one-line JSON private key, a long token on a long line) shows no
    unmasked piece: Match and code are cut from the masked text."""
    import random
    import string

    from vigil.analyzers.secrets import rules
    from vigil.analyzers.secrets.engine import SecretScanner

    rnd = random.Random(7)
    body = "".join(rnd.choice(string.ascii_letters + string.digits + "+/") for _ in range(1600))
    key = "-----BEGIN PRIVATE KEY-----\\n" + body + "\\n-----END PRIVATE KEY-----\\n"
    token = "glc_" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(380))
    text = (f'{{"note": "{"n" * 150}",\n "private_key": "{key}",\n "x": "{"y" * 40} {token} {"z" * 200}"}}\n').encode()
    found = SecretScanner(rules.builtin()).scan("sa.json", text)
    assert {f.rule_id for f in found} >= {"private-key", "grafana-cloud-api-token"}
    shown = msgspec.json.encode(found).decode()
    for secret in (body, token[4:]):
        pieces = {secret[i:i + 8] for i in range(0, len(secret) - 8)}
        assert not [p for p in pieces if p in shown]


def test_log_lines_of_the_planted_files_are_masked_as_by_every_rule(planted: tuple[Path, list[str]]) -> None:
    """Rules are tried on a text only when it holds one of their required literals. On every line of the planted
    corpus (its 130+ secrets with the text around them), each rule that matches the line is among those tried, so
    the mask is what the combined regex of every built-in rule makes of it (leaving out alternatives that match
    nowhere does not change a leftmost-first alternation); and so it is on the whole corpus as one text."""
    import re

    from vigil.analyzers.secrets import mask

    root, values = planted
    lines = [ln for p in sorted(root.rglob("*")) if p.is_file()
             for ln in p.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    chosen = [set(mask.chosen_rules(ln)) for ln in lines]
    matched = 0
    for i, (_, rx) in enumerate(mask._rules()):
        one = re.compile(mask._scoped(rx), re.MULTILINE)
        hits = [k for k, ln in enumerate(lines) if one.search(ln)]
        matched += bool(hits)
        assert [lines[k] for k in hits if i not in chosen[k]] == [], mask._rules()[i]
    assert matched > 100  # the corpus does exercise the rules
    whole = "\n".join(lines)
    every_rule = mask._combined(tuple(range(len(mask._rules()))))
    assert mask_text(whole) == every_rule.sub(mask.MASK, whole)
    assert [v for v in values if v in mask_text(whole)] == []


def test_an_ordinary_log_line_tries_a_few_rules() -> None:
    """An ordinary warning compiles the rules that have no literal (one packaged rule) and the few whose short
    literals it happens to hold, not the 127: compiling all of them was ~30 ms of a scan that logged one line."""
    from vigil.analyzers.secrets import mask

    always = tuple(i for i, (lits, _) in enumerate(mask._rules()) if lits is None)
    assert len(always) <= 2 and len(mask._rules()) > 100
    line = "debian 12.15: no advisories for this OS release in the DB; OS packages are not matched"
    assert set(always) <= set(mask.chosen_rules(line)) and len(mask.chosen_rules(line)) < 5
    assert mask_text(line) == line
    token = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"
    chosen = mask.chosen_rules(f"bad {token}")
    assert token not in mask_text(f"bad {token}") and len(chosen) < 10


def test_required_literals_of_regexes() -> None:
    """The generator's literals: sound for sequences, groups, branches, repeats and lookarounds; none where a
    match may hold no fixed text."""
    from tests.tool_helpers import load_tool

    req = load_tool("gen_secret_rules").required_literals
    assert req(r"ghp_[0-9a-zA-Z]{36}") == ["ghp_"]
    assert req(r"(?i)(?:Token|KEY)\s*=\s*\w+") == ["key", "token"]
    assert req(r"(?:abc|[0-9]+)x") == ["x"]  # one alternative requires nothing: the sequence's other literal
    assert req(r"(?:xoxb|xoxp)-\d+") in (["xox"], ["xoxb", "xoxp"])  # any one requirement is sound
    assert req(r"(?=.*SECRET)[A-Z]{8}") == ["secret"]
    assert req(r"(?:prefix)?[a-z]{4}") is None and req(r"[A-Za-z0-9/+]{40}") is None
    assert req(r"(?!abc)[a-z]+") is None and req(r"(a)\1") == ["a"]


def test_literals_file_is_current() -> None:
    from tests.tool_helpers import load_tool

    gen = load_tool("gen_secret_rules")
    assert gen.LITERALS.read_text(encoding="utf-8") == gen.render_literals(), "regenerate it with `make secret-rules`"
