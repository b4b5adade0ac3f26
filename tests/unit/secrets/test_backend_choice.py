"""The secret engine chooses its backend for the amount of input (SecretScanner.plan): a small scan with no
compiled database kept from an earlier run uses `re` rather than compile hyperscan's database (which costs more
than scanning that little), a large one compiles it, and a kept database is loaded whatever the size. Compiles
are counted, never timed; the findings are the same whichever backend runs."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from vigil.analyzers.secrets import engine, rules
from vigil.analyzers.secrets.engine import (
    HYPERSCAN_MIN_BYTES,
    SecretScanner,
    compile_globs,
    hyperscan_available,
)
from vigil.compiled_cache import CompiledFiles

TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"  # github-pat shape (fake)
DATA = f"GITHUB={TOKEN}\nplain text\n".encode()
FAST = "hyperscan" if hyperscan_available() else "re"


def _planned(nbytes: int | None, store: CompiledFiles | None) -> SecretScanner:
    sc = SecretScanner(rules.builtin(), store=store)
    sc.plan(nbytes)
    return sc


def test_small_input_without_a_kept_database_uses_re(tmp_path: Path, compiles: list[int],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[bool] = []
    monkeypatch.setattr(engine, "hyperscan_available", lambda: asked.append(True) or hyperscan_available())
    store = CompiledFiles(tmp_path)
    sc = _planned(HYPERSCAN_MIN_BYTES - 1, store)
    assert sc.backend.name == "re"
    assert compiles == []
    assert asked == []  # an empty store holds no database: hyperscan is not even imported to look for one
    assert not list(tmp_path.iterdir())  # nothing compiled, nothing kept
    found = sc.scan("app.env", DATA)
    assert [f.rule_id for f in found] == ["github-pat"]
    assert msgspec.json.encode(found) == msgspec.json.encode(SecretScanner(rules.builtin(), FAST).scan("app.env", DATA))


def test_large_or_unknown_input_compiles_and_a_small_one_then_loads_it(tmp_path: Path, compiles: list[int]) -> None:
    store = CompiledFiles(tmp_path)
    assert _planned(HYPERSCAN_MIN_BYTES, store).backend.name == FAST
    assert _planned(None, None).backend.name == FAST
    if FAST == "re":
        return  # without hyperscan there is nothing to compile or keep
    assert len(compiles) == 2
    assert store.may_hold("hyperscan-") and not CompiledFiles(tmp_path / "absent").may_hold("hyperscan-")
    small = _planned(100, store)  # the database the large scan kept: loaded, not compiled
    assert small.backend.name == "hyperscan"
    assert len(compiles) == 2


def test_plan_keeps_an_explicit_or_already_chosen_backend(compiles: list[int]) -> None:
    sc = SecretScanner(rules.builtin(), "re")
    sc.plan(None)
    assert sc.backend.name == "re"
    sc = SecretScanner(rules.builtin())
    sc.plan(10)
    sc.plan(1 << 40)  # chosen once: a second plan changes nothing
    assert sc.backend.name == "re"
    assert compiles == []


def test_packaged_skip_patterns_match_what_one_pattern_per_glob_matches() -> None:
    """compile_globs states the common `(?:.*/)?` once for the packaged patterns: the same language."""
    globs = rules.builtin().skip_patterns
    naive = re.compile("(?:" + "|".join(engine._glob_to_regex(g) for g in globs) + r")(?:/.*)?\Z")
    fast = compile_globs(globs)
    assert fast is not None and fast.pattern != naive.pattern
    # the shared `(?:.*/)?` and the `[^/]*` of the 23 `**/*.ext` globs are each said once
    assert fast.pattern.count("(?:.*/)?") == 1 and fast.pattern.count("[^/]*") == 1, fast.pattern
    paths = ["a", "x.png", "dir/x.png", "dir/x.png/inner", ".git", ".git/config", "a/.git/b/c", "node_modules",
             "a/node_modules/b.js", "go.mod", "sub/go.mod", "sub/go.mod.bak", "x.so", "lib/x.so.1", "a/b/c.tar",
             "README.md", "notpng", "pngx.txt", "a/b.jpeg/c", "", "/", "//x.png", "a//node_modules/"]
    paths += [f"d{i}/" * i + name for i in range(5) for name in ("f.gz", "f.txt", "Cargo.lock", "x.woff2")]
    paths += ["x.woff2x", "x.tar.gz", "a.so.1", "dir.jar/inner.txt", ".jpg", "a/.png", "a.jpg/b/c.txt", "gz",
              "x.socket.txt", "node_modules.png", "a/b.deb\n", "a\nb.zip", "a.ttf/"]
    assert sum(bool(naive.match(p)) for p in paths) > 10
    for p in paths:
        assert bool(fast.match(p)) == bool(naive.match(p)), p
