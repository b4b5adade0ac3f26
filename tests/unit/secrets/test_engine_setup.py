"""What readying the secret engine compiles, counted (never timed): a cold scan of a small image or directory pays
for the regexes it runs and for no other. Importing the engine compiles none of its own; a scanner of the packaged
rules compiles the few path and allow regexes every scanned file is checked against, and nothing more until a rule
matches."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from vigil.analyzers.secrets import engine, rules

TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"  # github-pat shape (fake)

# Runs in a fresh process: which module called re.compile while the engine was imported.
_PROBE = """
import re, sys
callers = []
real = re.compile
def counting(*a, **kw):
    callers.append(sys._getframe(1).f_globals.get("__name__"))
    return real(*a, **kw)
re.compile = counting
import vigil.analyzers.secrets.engine
print(callers.count("vigil.analyzers.secrets.engine"), callers.count("re"), len(callers))
"""


def test_importing_the_engine_compiles_none_of_its_regexes() -> None:
    """Its display, .pyc and hyperscan helpers are compiled when first used: most scans find no secret, read no
    .pyc and build no hyperscan database."""
    p = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    own, _, total = map(int, p.stdout.split())
    assert total > 0  # the probe sees the compiles of what the engine imports
    assert own == 0


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The patterns the engine module passes to re.compile during the test."""
    calls: list[str] = []
    real = re.compile

    def counting(pattern: str | bytes, flags: int = 0) -> re.Pattern:  # type: ignore[type-arg]
        if sys._getframe(1).f_globals.get("__name__") == engine.__name__:
            calls.append(pattern if isinstance(pattern, str) else pattern.decode("latin-1"))
        return real(pattern, flags)

    monkeypatch.setattr(re, "compile", counting)
    yield calls


def test_a_packaged_scanner_compiles_only_what_every_file_is_checked_against(compiled: list[str]) -> None:
    rs = rules.builtin()
    sc = engine.SecretScanner(rs)
    sc.plan(100)
    assert sc.scan("app/config.txt", b"nothing secret in here\n" * 10) == []
    with_path = [r for r in rs.rules if r.path]
    with_regex = [a for a in rs.allow_rules if a.regex]
    path_only = [a for a in rs.allow_rules if a.path and not a.regex]
    assert with_path and with_regex and len(path_only) > 5  # the counts below mean something
    # each rule's path, the skip patterns (one regex), the path-only allow rules (one regex), each allow regex;
    # not each path-only allow rule on its own, nor any rule's own regex (none was a candidate)
    assert len(compiled) == len(with_path) + 1 + 1 + len(with_regex), compiled
    # a finding compiles the matching rule's regex and what shows and masks it
    found = sc.scan("app/.env", f"GITHUB_TOKEN={TOKEN}\n".encode())
    assert [f.rule_id for f in found] == ["github-pat"]
    assert len(compiled) > len(with_path) + 2 + len(with_regex)
