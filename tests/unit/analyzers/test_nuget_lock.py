"""packages.lock.json: goldens on real files from ../shared/data/corpus/lockfiles plus hand-checked semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.nuget_lock import ANALYZER, parse_nuget_lock
from vigil.analyzers.registry import AnalysisInput, run_guarded

CASES = {
    # Direct/Transitive with a dependency graph
    "subdependencies": "aquasecurity__trivy/pkg/dependency/parser/nuget/lock/testdata/packages_lock_subdependencies/packages.lock.json",
    # several target frameworks: each package once, edges merged
    "multi": "aquasecurity__trivy/pkg/dependency/parser/nuget/lock/testdata/packages_lock_multi/packages.lock.json",
    # a "Project" entry (a referenced project, not a package)
    "legacy_project": "aquasecurity__trivy/pkg/dependency/parser/nuget/lock/testdata/packages_lock_legacy/packages.lock.json",
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/nuget/packages.lock.json",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    golden.check(f"analyzers/nuget_lock/{case}", parse_nuget_lock((lockfiles_dir / rel).read_bytes(), rel))


def test_hand_checked_subdependencies(lockfiles_dir: Path) -> None:
    app = parse_nuget_lock((lockfiles_dir / CASES["subdependencies"]).read_bytes())
    by_name = {p.name: p for p in app.packages}
    assert {n for n, p in by_name.items() if p.relationship == "direct"} == {
        "Newtonsoft.Json", "NuGet.Frameworks", "Swashbuckle.AspNetCore"}
    assert by_name["Swashbuckle.AspNetCore.Swagger"].depends_on == ("Microsoft.OpenApi@1.1.4",)
    assert by_name["Swashbuckle.AspNetCore.Swagger"].relationship == "indirect"
    # "Newtonsoft.Json": { on line 5 … closing brace on line 10
    loc = by_name["Newtonsoft.Json"].locations[0]
    assert (loc.start_line, loc.end_line) == (5, 10)
    assert not any(p.dev for p in app.packages)
    assert by_name["Newtonsoft.Json"].purl == "pkg:nuget/Newtonsoft.Json@12.0.3"


def test_project_entries_are_not_packages(lockfiles_dir: Path) -> None:
    app = parse_nuget_lock((lockfiles_dir / CASES["legacy_project"]).read_bytes())
    assert [p.name for p in app.packages] == ["AWSSDK.Core", "Newtonsoft.Json"]


def test_frameworks_merge() -> None:
    data = b"""{"version": 1, "dependencies": {
      "net6.0": {"A": {"type": "Transitive", "resolved": "1.0.0", "dependencies": {"b": "2.0.0"}},
                 "B": {"type": "Direct", "resolved": "2.0.0"}},
      "net8.0": {"A": {"type": "Direct", "resolved": "1.0.0"}, "B": {"type": "CentralTransitive", "resolved": "2.0.0"}}}}"""
    app = parse_nuget_lock(data)
    got = {p.name: (p.relationship, p.depends_on) for p in app.packages}
    assert got == {"A": ("direct", ("B@2.0.0",)), "B": ("direct", ())}


def test_invalid() -> None:
    for bad in (b"[]", b'{"dependencies": []}', b"{", b"\x00\x01"):
        with pytest.raises(ParseError):
            parse_nuget_lock(bad)
    assert parse_nuget_lock(b'{"dependencies": {"x": 1, "y": {"A": {"type": "Direct"}}}}').packages == ()


def test_analyzer() -> None:
    (app,) = run_guarded(ANALYZER, AnalysisInput(path="src/packages.lock.json", data=b'{"dependencies": {"net6.0": {"A": {"type": "Direct", "resolved": "1.0"}}}}')).applications
    assert app.type == "nuget" and app.packages[0].ecosystem == "nuget"
