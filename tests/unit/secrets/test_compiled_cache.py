"""The compiled hyperscan database is kept between runs: the second scanner loads it instead of compiling, and a
damaged file is ignored, compiled again and rewritten. Compiles are counted, never timed."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from vigil.analyzers.secrets import rules
from vigil.analyzers.secrets.engine import SecretScanner, hyperscan_available
from vigil.compiled_cache import CompiledFiles

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan")

TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"  # github-pat shape (fake)
AKID = "AKIA" + "QZ7W3RT5YP2M6N4K"
DATA = f"GITHUB={TOKEN}\nAWS={AKID}\nplain text\n".encode()


def _scan(store: CompiledFiles | None) -> bytes:
    sc = SecretScanner(rules.builtin(), "hyperscan", store=store)
    return msgspec.json.encode(sc.scan("app.env", DATA))


def _files(d: Path) -> list[Path]:
    return sorted(d.glob("*.bin"))


def test_second_scanner_loads_the_compiled_database(tmp_path: Path, compiles: list[int]) -> None:
    reference = _scan(None)
    assert len(compiles) == 1
    store = CompiledFiles(tmp_path / "compiled")
    assert _scan(store) == reference  # compiled and stored
    assert len(compiles) == 2 and len(_files(store.dir)) == 1
    assert _scan(store) == reference  # loaded: no compile
    assert _scan(CompiledFiles(tmp_path / "compiled")) == reference  # a new process's store: the same file
    assert len(compiles) == 2
    assert b'"github-pat"' in reference and b'"aws-access-key-id"' in reference


@pytest.mark.parametrize("damage", ["truncated", "flipped", "checksum-ok-not-a-database", "empty", "wrong-header"])
def test_damaged_cache_file_is_ignored_and_rebuilt(tmp_path: Path, compiles: list[int], damage: str) -> None:
    store = CompiledFiles(tmp_path)
    reference = _scan(store)
    [path] = _files(tmp_path)
    raw = path.read_bytes()
    _, _, payload = raw.partition(b"\n")
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped":
        mid = len(raw) // 2
        path.write_bytes(raw[:mid] + bytes([raw[mid] ^ 0xFF]) + raw[mid + 1 :])
    elif damage == "checksum-ok-not-a-database":  # passes the store's checksum, fails hyperscan's loader
        store.put(path.name.removesuffix(".bin"), b'{"exact_only": []}\nnot a hyperscan database')
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"something else\n" + payload)
    assert _scan(store) == reference  # ignored: compiled again
    assert len(compiles) == 2
    assert path.read_bytes().startswith(CompiledFiles.MAGIC) and store.get(path.name.removesuffix(".bin"))
    assert _scan(store) == reference  # the rewritten file is used
    assert len(compiles) == 2


def test_unwritable_cache_directory_only_means_compiling(tmp_path: Path, compiles: list[int]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = CompiledFiles(blocker / "compiled")  # mkdir fails: a file is in the way
    reference = _scan(None)
    assert _scan(store) == reference and _scan(store) == reference
    assert len(compiles) == 3


def test_other_rules_get_their_own_file(tmp_path: Path, compiles: list[int]) -> None:
    store = CompiledFiles(tmp_path)
    _scan(store)
    custom = rules.effective(rules.parse_config(b"disable-rules: [github-pat]\n"))
    found = SecretScanner(custom, "hyperscan", store=store).scan("app.env", DATA)
    assert [f.rule_id for f in found] == ["aws-access-key-id"]
    assert len(_files(tmp_path)) == 2 and len(compiles) == 2
    _scan(store)
    assert len(compiles) == 2


def test_store_keeps_a_bounded_number_of_files(tmp_path: Path) -> None:
    store = CompiledFiles(tmp_path)
    for i in range(CompiledFiles.MAX_FILES + 5):
        store.put(f"k-{i}", b"x")
    assert len(_files(tmp_path)) == CompiledFiles.MAX_FILES
    assert store.get(f"k-{CompiledFiles.MAX_FILES + 4}") == b"x"
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError):
        store.get("../escape")
    assert store.clear() == CompiledFiles.MAX_FILES and not _files(tmp_path)


def test_store_prunes_and_clears_only_its_own_files(tmp_path: Path) -> None:
    """The directory is <cache-dir>/compiled: with `--cache-dir .` it is a project's own compiled/ folder, whose
    .bin and .tmp files (firmware, build output) are neither pruned nor cleared. Vigil's files are told by MAGIC."""
    theirs = {f"fw-{i}.bin": b"\x7fELF firmware" for i in range(CompiledFiles.MAX_FILES + 2)}
    theirs |= {"build.tmp": b"partial", ".k-1.cafe.tmp": b"not ours either", "notes.txt": b"mine"}
    for name, data in theirs.items():
        (tmp_path / name).write_bytes(data)
    store = CompiledFiles(tmp_path)
    store.put("k-1", b"x")
    killed = tmp_path / ".k-2.x1y2.tmp"  # a writer killed before its first byte
    killed.write_bytes(b"")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in theirs} == theirs  # nothing pruned
    assert store.clear() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs)
    assert all((tmp_path / n).read_bytes() == d for n, d in theirs.items())
