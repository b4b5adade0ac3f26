"""conan.lock: goldens on real files from ../shared/data/corpus/lockfiles (Conan 1 graph locks and Conan 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.lang.conan_lock import parse_conan_lock, parse_ref

CASES = {
    "v1_case1": "aquasecurity__trivy/pkg/dependency/parser/c/conan/testdata/happy_v1_case1/conan.lock",
    "v1_case2": "aquasecurity__trivy/pkg/dependency/parser/c/conan/testdata/happy_v1_case2/conan.lock",
    "v1_empty": "aquasecurity__trivy/pkg/dependency/parser/c/conan/testdata/empty_v1/conan.lock",
    "v2": "aquasecurity__trivy/pkg/dependency/parser/c/conan/testdata/happy_v2/conan.lock",
    "trivy_integration": "aquasecurity__trivy/integration/testdata/fixtures/repo/conan/conan.lock",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, lockfiles_dir: Path, golden) -> None:  # type: ignore[no-untyped-def]
    rel = CASES[case]
    golden.check(f"analyzers/conan_lock/{case}", parse_conan_lock((lockfiles_dir / rel).read_bytes(), rel))


def test_hand_checked_v1(lockfiles_dir: Path) -> None:
    app = parse_conan_lock((lockfiles_dir / CASES["v1_case1"]).read_bytes())
    got = {p.name: (p.version, p.relationship, p.depends_on) for p in app.packages}
    assert got == {
        "pkga": ("0.0.1", "direct", ("pkgb@system",)),
        "pkgb": ("system", "indirect", ()),
        "pkgc": ("0.1.1", "direct", ()),  # pkgc/0.1.1@user/testing
    }
    pkga = next(p for p in app.packages if p.name == "pkga")
    assert (pkga.locations[0].start_line, pkga.locations[0].end_line) == (13, 22)


def test_hand_checked_v2(lockfiles_dir: Path) -> None:
    app = parse_conan_lock((lockfiles_dir / CASES["v2"]).read_bytes())
    got = {p.name: (p.version, p.dev) for p in app.packages}
    assert got == {"sound32": ("1.0", False), "matrix": ("1.3", False), "automake": ("1.16.5", True), "autoconf": ("2.71", True)}
    assert app.packages[0].purl.startswith("pkg:conan/")


def test_refs_and_invalid(lockfiles_dir: Path) -> None:
    assert parse_ref("zlib/1.2.13#abc%123.4") == ("zlib", "1.2.13")
    assert parse_ref("pkg/1.0@user/channel#rrev") == ("pkg", "1.0")
    assert parse_ref("noversion") is None and parse_ref("a/b/c") is None
    # Trivy fails on a malformed ref; an unusable entry is skipped here, like every other parser's
    sad = lockfiles_dir / "aquasecurity__trivy/pkg/dependency/parser/c/conan/testdata/sad_v1/conan.lock"
    assert parse_conan_lock(sad.read_bytes()).packages == ()
    for bad in (b"[]", b'{"graph_lock": []}', b'{"graph_lock": {"nodes": []}}', b'{"requires": {}}'):
        with pytest.raises(ParseError):
            parse_conan_lock(bad)
