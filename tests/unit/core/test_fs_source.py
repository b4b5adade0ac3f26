from pathlib import Path

import pytest

from vigil.sources.fs import FileTooLarge, SourceError, read_capped, read_siblings, walk


def _tree(root: Path) -> None:
    for rel in ["a/requirements.txt", "a/node_modules/x/package-lock.json", ".git/config", "vendor/bundle/Gemfile.lock",
                "b/c/poetry.lock", "b/c/pyproject.toml", "testdata/go.mod"]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")


def _all(_: str) -> bool:
    return True


def test_walk_skips_defaults_and_globs(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "link.txt").symlink_to(tmp_path / "a/requirements.txt")
    (tmp_path / "linkdir").symlink_to(tmp_path / "b")
    got = [r.rel_path for r in walk(tmp_path, _all)]
    assert got == ["a/requirements.txt", "b/c/poetry.lock", "b/c/pyproject.toml", "testdata/go.mod"]
    got = [r.rel_path for r in walk(tmp_path, _all, skip_dirs=("testdata",), skip_files=("**/*.toml",))]
    assert got == ["a/requirements.txt", "b/c/poetry.lock"]


def test_walk_single_file_and_missing(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert [r.rel_path for r in walk(tmp_path / "b/c/poetry.lock", _all)] == ["poetry.lock"]
    with pytest.raises(SourceError, match="no such file"):
        list(walk(tmp_path / "nope", _all))


def test_read_capped_and_siblings(tmp_path: Path) -> None:
    _tree(tmp_path)
    p = tmp_path / "b/c/poetry.lock"
    p.write_bytes(b"x" * 100)
    assert read_capped(p, 100) == b"x" * 100
    with pytest.raises(FileTooLarge):
        read_capped(p, 99)
    assert read_siblings(p, ("pyproject.toml",), 10) == {"pyproject.toml": b"x"}
    assert read_siblings(p, (), 10) == {}


def test_read_capped_refuses_a_large_file_without_reading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    import vigil.sources.fs as fs

    sparse = tmp_path / "requirements.txt"
    with open(sparse, "wb") as f:
        f.truncate(1 << 30)  # 1 GiB, no blocks on disk
    read: list[int] = []

    class Spy:
        def __init__(self, f: object) -> None:
            self.f = f

        def __enter__(self) -> "Spy":
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()  # type: ignore[attr-defined]

        def fileno(self) -> int:
            return int(self.f.fileno())  # type: ignore[attr-defined]

        def read(self, n: int = -1) -> bytes:
            read.append(n)
            return bytes(self.f.read(n))  # type: ignore[attr-defined]

    # the Spy is the context manager read_capped enters; it closes the file
    monkeypatch.setattr(fs, "open", lambda *a, **k: Spy(builtins.open(*a, **k)), raising=False)  # noqa: SIM115
    with pytest.raises(FileTooLarge):
        read_capped(sparse, 1 << 20)
    assert read == []  # refused on its size: not a byte read
    small = tmp_path / "small.txt"
    small.write_bytes(b"abc")
    assert read_capped(small, 3) == b"abc" and read == [4]

    class Grown:  # the file grows between the size check and the read: the bounded read still refuses it
        st_size = 0

    monkeypatch.setattr(fs.os, "fstat", lambda fd: Grown())
    small.write_bytes(b"abcd")
    with pytest.raises(FileTooLarge):
        read_capped(small, 3)
