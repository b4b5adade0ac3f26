"""Reproducible installs: `make setup` (which `make test` and .ci/run go through) installs exactly what
requirements.lock pins, each file checked against its sha256, and the lock covers everything pyproject.toml asks
for (runtime, the dev extra, the build backend). A dependency added to pyproject.toml without `make lock` fails
here rather than on a fresh clone."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent.parent
LOCK = ROOT / "requirements.lock"


def _entries() -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, hashes), one per requirement line of the lock (continuations joined)."""
    text = re.sub(r"\\\n", " ", LOCK.read_text(encoding="utf-8"))
    out: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, _, rest = line.partition(" --hash=")
        req = Requirement(spec.strip())
        pins = [s for s in req.specifier if s.operator == "=="]
        assert len(pins) == 1 and len(req.specifier) == 1, f"not pinned with ==: {line[:80]}"
        hashes = re.findall(r"sha256:([0-9a-f]{64})", " --hash=" + rest if rest else "")
        out[canonicalize_name(req.name)] = (pins[0].version, hashes)
    return out


def test_every_locked_package_is_pinned_with_hashes() -> None:
    entries = _entries()
    assert len(entries) > 50
    assert [n for n, (_, hashes) in entries.items() if not hashes] == []


def test_the_lock_covers_pyproject() -> None:
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*pp["project"]["dependencies"], *pp["project"]["optional-dependencies"]["dev"],
              *pp["build-system"]["requires"]]
    entries = _entries()
    problems = []
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name not in entries:
            problems.append(f"{text}: not in requirements.lock")
        elif not req.specifier.contains(entries[name][0], prereleases=True):
            problems.append(f"{text}: the lock pins {entries[name][0]}")
    assert problems == [], "run `make lock`"


def test_setup_installs_from_the_lock_only() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r requirements.lock" in make
    assert "--no-deps --no-build-isolation -e ." in make  # Vigil itself resolves nothing beyond the lock
    assert re.search(r"^lock:", make, re.M) and "--generate-hashes" in make
    assert re.search(r"^unit: setup$", make, re.M) and re.search(r"^lint: setup$", make, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
