"""The `related` capability (registry.Analyzer.related → sources.fs.read_related → AnalysisInput.related): files
outside the analysed file's directory are read only inside the scan root, never through symlinks, within a budget,
and each is read once per scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vigil.sources.fs import read_related, read_within


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def ask_lines(path: str, data: bytes) -> list[str]:
    """A toy analyzer request: each line of a file names another file."""
    return [ln for ln in data.decode().splitlines() if ln]


def test_follows_chains_breadth_first(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/f": b"b/f\n", "b/f": b"c/f\nmissing\n", "c/f": b"a/f\n"})
    got = read_related(tmp_path, "a/f", (tmp_path / "a/f").read_bytes(), ask_lines, 1000, 10)
    assert got == {"b/f": b"c/f\nmissing\n", "c/f": b"a/f\n"}  # the start file is never re-read; cycles end


def test_stays_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _tree(tmp_path, {"outside": b"secret", "root/x/f": b"", "elsewhere/f": b"secret"})
    os.symlink(tmp_path / "elsewhere", root / "link")
    os.symlink(tmp_path / "outside", root / "file-link")
    for rel in ("../outside", "/etc/passwd", "x/../../outside", "link/f", "file-link", "", "x/./f", "x"):
        assert read_within(root, rel, 1000) is None, rel
    assert read_within(root, "x/f", 1000) == b""
    got = read_related(root, "x/f", b"../outside\nlink/f\nfile-link\n", ask_lines, 1000, 10)
    assert got == {}


def test_budget_size_cap_and_cache(tmp_path: Path) -> None:
    _tree(tmp_path, {f"f{i}": f"f{i + 1}\n".encode() for i in range(20)})
    _tree(tmp_path, {"big": b"x" * 2000})
    got = read_related(tmp_path, "f0", b"f1\n", ask_lines, 1000, 5)
    assert sorted(got) == ["f1", "f2", "f3", "f4", "f5"]
    assert read_related(tmp_path, "s", b"big\n", ask_lines, 1000, 5) == {}  # over --max-file-size: not read
    cache: dict[str, bytes | None] = {"f1": b"cached\n"}
    got = read_related(tmp_path, "f0", b"f1\nnope\n", ask_lines, 1000, 5, cache)
    assert got == {"f1": b"cached\n"} and cache["nope"] is None


def test_a_failing_request_is_contained(tmp_path: Path) -> None:
    def boom(path: str, data: bytes) -> list[str]:
        raise ValueError("bug")

    assert read_related(tmp_path, "f", b"", boom, 1000, 5) == {}


@pytest.mark.parametrize("nested", [True, False])
def test_engine_passes_related_files_to_pom(tmp_path: Path, nested: bool) -> None:
    """Through the engine: a module's parent two levels up is read when it is inside the scan root, and not when
    the scan root is the module's own directory."""
    from tests.pipeline_helpers import analyze_dir

    from vigil.settings import ScanOptions

    parent = b"""<project><groupId>g</groupId><artifactId>parent</artifactId><version>1</version>
      <properties><x.version>2.5</x.version></properties></project>"""
    child = b"""<project><parent><groupId>g</groupId><artifactId>parent</artifactId><version>1</version>
      <relativePath>../../pom.xml</relativePath></parent><artifactId>child</artifactId>
      <dependencies><dependency><groupId>x</groupId><artifactId>x</artifactId><version>${x.version}</version>
      </dependency></dependencies></project>"""
    _tree(tmp_path, {"pom.xml": parent, "m/child/pom.xml": child})
    target = tmp_path if nested else tmp_path / "m" / "child"
    inv = analyze_dir(ScanOptions(target=target, db_path=tmp_path / "db"))
    app = next(a for a in inv.applications if a.file_path.endswith("pom.xml") and "child" in {p.name.split(":")[1] for p in a.packages})
    x = next(p for p in app.packages if p.name == "x:x")
    assert x.version == ("2.5" if nested else "")
