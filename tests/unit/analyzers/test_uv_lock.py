"""uv.lock: goldens on real files from ../shared/data/corpus/lockfiles plus the tricky semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.uv_lock import ANALYZER, parse_uv_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded

CASES = {
    # virtual root with an extra on a dependency (httpx[socks]), its own extra (json) and a dev group
    "normal": "aquasecurity__trivy/pkg/dependency/parser/python/uv/testdata/uv_normal/uv.lock",
    # two roots at "."
    "multiple_roots": "aquasecurity__trivy/pkg/dependency/parser/python/uv/testdata/uv_multiple_roots/uv.lock",
    # no root project: relationships unknown
    "without_root": "aquasecurity__trivy/pkg/dependency/parser/python/uv/testdata/uv_without_root/uv.lock",
    # real project with a dev group, from dependabot's dependency-grapher fixtures
    "dev_group": "dependabot__dependabot-core/uv/spec/fixtures/dependency_grapher/uv_lock_with_relationships.lock",
}


def _parse_case(lockfiles_dir: Path, rel: str):  # type: ignore[no-untyped-def]
    return parse_uv_lock((lockfiles_dir / rel).read_bytes(), rel)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check(f"analyzers/uv_lock/{case}", _parse_case(lockfiles_dir, CASES[case]))


def test_hand_checked_normal(lockfiles_dir: Path) -> None:
    app = _parse_case(lockfiles_dir, CASES["normal"])
    by_name = {p.name: p for p in app.packages}
    assert "normal" not in by_name  # the root project is omitted
    direct = {n for n, p in by_name.items() if p.relationship == "direct"}
    assert direct == {"httpx", "requests", "orjson", "pytest"}
    dev = {n for n, p in by_name.items() if p.dev}
    # pytest and what only pytest needs
    assert dev == {"pytest", "iniconfig", "packaging", "pluggy", "colorama", "tomli"}
    # socksio comes in through httpx[socks], requested by the root: production
    assert not by_name["socksio"].dev and by_name["socksio"].relationship == "indirect"
    assert by_name["httpx"].depends_on == (
        "anyio@4.7.0",
        "certifi@2024.12.14",
        "httpcore@1.0.7",
        "idna@3.10",
        "socksio@1.0.0",
    )
    # [[package]] httpx starts at line 152; its block ends with [package.optional-dependencies] (line 170)
    loc = by_name["httpx"].locations[0]
    assert (loc.start_line, loc.end_line) == (152, 170)


LOCK = b"""version = 1
requires-python = ">=3.11"

[manifest]
members = ["app", "lib"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "lib" }, { name = "web" }]

[package.dev-dependencies]
dev = [{ name = "web", extra = ["testing"] }, { name = "tool" }]

[[package]]
name = "lib"
version = "0.2.0"
source = { editable = "packages/lib" }
dependencies = [{ name = "numpy", version = "2.0.0" }]

[[package]]
name = "web"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "core" }]

[package.optional-dependencies]
testing = [{ name = "testkit" }]

[[package]]
name = "core"
version = "1.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "testkit"
version = "3.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "core" }]

[[package]]
name = "tool"
version = "0.9"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "numpy", version = "1.26.0" }, { name = "localdep" }]

[[package]]
name = "numpy"
version = "1.26.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "numpy"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "localdep"
source = { directory = "../localdep" }
"""


def test_workspace_extras_and_versioned_refs() -> None:
    app = parse_uv_lock(LOCK, "uv.lock")
    got = {(p.name, p.version): (p.dev, p.relationship) for p in app.packages}
    assert got == {
        # lib (a workspace member) is a root too, so omitted; its dependency numpy 2.0.0 is direct
        ("web", "1.0"): (False, "direct"),
        ("core", "1.1"): (False, "indirect"),  # needed by web (prod) and testkit (dev): prod
        ("testkit", "3.0"): (True, "indirect"),  # only via web[testing], which only the dev group requests
        ("tool", "0.9"): (True, "direct"),
        ("numpy", "1.26.0"): (True, "indirect"),  # the version-qualified reference picks the right one
        ("numpy", "2.0.0"): (False, "direct"),
        # localdep has no version: nothing to match, left out
    }
    web = next(p for p in app.packages if p.name == "web")
    assert web.depends_on == ("core@1.1", "testkit@3.0")
    tool = next(p for p in app.packages if p.name == "tool")
    assert tool.depends_on == ("numpy@1.26.0",)  # no edge to the versionless local package
    assert [p.locations[0].start_line for p in app.packages if p.name == "tool"] == [42]


def test_invalid_documents_raise_parse_error() -> None:
    for bad in (b"package = {}", b"[[package]\n", b"\xff\xfe\x00"):
        with pytest.raises(ParseError):
            parse_uv_lock(bad)
    app = parse_uv_lock(b'package = [1, {name = "x", version = "1", source = 3, dependencies = "y"}]\n')
    assert [(p.name, p.relationship) for p in app.packages] == [("x", "unknown")]


def test_analyzer() -> None:
    (app,) = run_guarded(ANALYZER, AnalysisInput(path="svc/uv.lock", data=LOCK)).applications
    assert app.type == "uv" and app.file_path == "svc/uv.lock" and len(app.packages) == 6
