"""Hostile layers, generated here (nothing big is committed): path traversal, symlink tricks, gzip and zstd bombs,
sparse and huge declared sizes, 100 000 tiny files, truncated and garbage streams, corrupt headers. Each must be
refused or handled with a one-line message, within bounded time and memory."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import zstandard

from tests.image_helpers import END, base256, debian_layers, gnu_sparse_header, tar_header, tar_member
from tests.work_budget import line_budget
from vigil.sources.fs import FileTooLarge
from vigil.sources.image.layers import Entry, LayerError, LayerLimits, iter_layer

DIGEST = "sha256:" + "ab" * 32


def _entries(blob: bytes, warnings: list[str] | None = None, **kw: object) -> list[Entry]:
    """All entries (their content is no longer readable afterwards: use _rows for that)."""
    sink = warnings if warnings is not None else []
    return list(iter_layer(io.BytesIO(blob), digest=DIGEST, on_warning=sink.append, **kw))  # type: ignore[arg-type]


def _rows(blob: bytes, warnings: list[str] | None = None) -> list[tuple[str, str, str, bytes]]:
    """(path, kind, linkname, content) of every entry, read while each entry is current."""
    sink = warnings if warnings is not None else []
    return [
        (e.path, e.kind, e.linkname, e.read())
        for e in iter_layer(io.BytesIO(blob), digest=DIGEST, on_warning=sink.append)
    ]


_AUDIT: list[list[tuple[str, str]]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _AUDIT and event in (
        "open",
        "os.symlink",
        "os.link",
        "os.mkdir",
        "os.rename",
        "os.remove",
        "shutil.copyfile",
    ):
        _AUDIT[-1].append((event, str(args[0]) if args else ""))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while a test has pushed a list


@contextmanager
def _no_file_system_access() -> Iterator[list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    _AUDIT.append(seen)
    try:
        yield seen
    finally:
        _AUDIT.pop()


def test_path_traversal_entries_are_refused_and_iteration_goes_on() -> None:
    layer = b"".join(
        [
            tar_member("../../etc/passwd", b"root::0:0::/:/bin/sh\n"),
            tar_member("/etc/shadow", b"absolute is made relative"),
            tar_member("a/../../b", b"escapes"),
            tar_member("./ok/../fine.txt", b"stays inside"),
            tar_member(
                "x" * 90, b"", typeflag=b"1", linkname="../../../etc/passwd"
            ),  # hardlink out of the layer
            tar_member("dir/.wh..", b""),  # a whiteout that would delete the parent
            tar_member("last.txt", b"still read"),
        ]
    )
    # PAX headers: a NUL inside the name and a name longer than max_path_len
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in ("nul\0name", "long/" + "d/" * 3000 + "f"):
            ti = tarfile.TarInfo("placeholder")
            ti.pax_headers = {"path": name}
            tf.addfile(ti, io.BytesIO(b""))
    layer += buf.getvalue()
    warnings: list[str] = []
    with line_budget(5_000):
        got = _rows(gzip.compress(layer + END), warnings)
    assert got == [
        ("etc/shadow", "file", "", b"absolute is made relative"),
        ("fine.txt", "file", "", b"stays inside"),
        ("last.txt", "file", "", b"still read"),
    ]
    assert warnings[:3] == [
        f"layer {DIGEST}: refused entry '../../etc/passwd': path traversal",
        f"layer {DIGEST}: refused entry 'a/../../b': path traversal",
        f"layer {DIGEST}: refused entry '{'x' * 90}': hardlink to '../../../etc/passwd' outside the layer",
    ]
    assert warnings[3].endswith("refused entry 'dir/.wh..': invalid whiteout")
    assert warnings[4] == f"layer {DIGEST}: refused entry 'nul\\x00name': NUL byte in name"
    assert warnings[5].endswith(": path too long") and len(warnings) == 6


def test_many_refused_entries_warn_a_bounded_number_of_times() -> None:
    layer = b"".join(tar_member(f"../evil{i}") for i in range(500)) + tar_member("ok") + END
    warnings: list[str] = []
    assert [e.path for e in _entries(layer, warnings)] == ["ok"]
    assert len(warnings) == 101
    assert warnings[-1] == f"layer {DIGEST}: refused 500 entries in total"


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host file")
    layer = b"".join(
        [
            tar_member("loop/a", typeflag=b"2", linkname="b"),
            tar_member("loop/b", typeflag=b"2", linkname="a"),
            tar_member("self", typeflag=b"2", linkname="self"),
            tar_member("etc", typeflag=b"2", linkname="/etc"),
            tar_member("host", typeflag=b"2", linkname=str(outside)),
            tar_member("up", typeflag=b"2", linkname="../../../../../.."),
            # content "through" the symlinks: a layer file, never the host's
            tar_member("etc/passwd", b"layer passwd\n"),
            tar_member("host/secret", b"layer secret\n"),
            tar_member("loop/a/x", b"under a loop"),
        ]
    )
    before = sorted(os.listdir(tmp_path))
    with _no_file_system_access() as touched, line_budget(5_000):
        got = _rows(layer + END)
    assert touched == []  # the reader opened, linked or created nothing
    assert sorted(os.listdir(tmp_path)) == before and os.listdir(outside) == ["secret"]
    assert (outside / "secret").read_text() == "host file"
    assert got == [
        ("loop/a", "symlink", "b", b""),
        ("loop/b", "symlink", "a", b""),
        ("self", "symlink", "self", b""),
        ("etc", "symlink", "/etc", b""),
        ("host", "symlink", str(outside), b""),
        ("up", "symlink", "../../../../../..", b""),
        ("etc/passwd", "file", "", b"layer passwd\n"),
        ("host/secret", "file", "", b"layer secret\n"),
        ("loop/a/x", "file", "", b"under a loop"),
    ]


def _huge_zero_file_header(size: int = 16 << 30) -> bytes:
    return tar_header("bomb.bin", size_field=base256(size))


def test_gzip_bomb_is_refused_by_the_ratio_check() -> None:
    # multi-member gzip: one member of 4 MiB of zeros (ratio ~1023:1, deflate's maximum is ~1032:1), repeated,
    # inflates to 8 GiB from 8 MB of input; the default limits refuse it after ~1 GiB of output
    member = gzip.compress(bytes(4 << 20), 9)
    bomb = gzip.compress(_huge_zero_file_header()) + member * 2048
    assert len(bomb) < 10 << 20
    with line_budget(25_000), pytest.raises(LayerError) as err:
        for e in iter_layer(io.BytesIO(bomb), digest=DIGEST):
            assert e.path == "bomb.bin" and e.size == 16 << 30
    msg = str(err.value)
    assert msg.startswith(f"layer {DIGEST}: decompression bomb refused: ") and "ratio > 1000" in msg
    assert "\n" not in msg


def test_bomb_message_counts_the_compressed_bytes_of_a_small_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    # a bomb whose whole compressed stream fits in the reader's first read: those bytes count too
    monkeypatch.setattr("vigil.sources.image.layers._RATIO_FLOOR", 1 << 20)
    bomb = gzip.compress(_huge_zero_file_header()) + gzip.compress(bytes(8 << 20), 9)
    with pytest.raises(LayerError, match=r"ratio > 200\)") as err:
        _entries(bomb, limits=LayerLimits(max_ratio=200))
    assert f": {len(bomb)} compressed bytes inflate to more than " in str(err.value)


def test_gzip_bomb_of_1mib_members_is_refused_by_the_layer_size_limit() -> None:
    # many 128 MiB zero files (each below every per-entry limit), 1 MiB gzip members (ratio ~998:1)
    member = gzip.compress(bytes(1 << 20), 9)
    bomb = b"".join(
        gzip.compress(tar_header(f"f{i}", size_field=base256(128 << 20))) + member * 128 for i in range(32)
    )
    with (
        line_budget(25_000),
        pytest.raises(LayerError, match="decompression bomb refused: more than 268435456 bytes"),
    ):
        _entries(bomb, limits=LayerLimits(max_layer_bytes=256 << 20))
    with line_budget(100_000), pytest.raises(LayerError, match=r"ratio > 100\)"):
        _entries(bomb, limits=LayerLimits(max_ratio=100))


def test_zstd_bomb_is_refused() -> None:
    frame = zstandard.ZstdCompressor(level=3).compress(bytes(256 << 20))
    bomb = zstandard.ZstdCompressor().compress(_huge_zero_file_header()) + frame * 256  # 64 GiB from ~2 MB
    assert len(bomb) < 4 << 20
    tracemalloc.start()
    try:
        with line_budget(20_000), pytest.raises(LayerError, match=r"decompression bomb refused: .*\(ratio > 1000\)"):
            _entries(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_sparse_4gib_file_is_never_materialised() -> None:
    real = 4 << 30
    old_gnu = gnu_sparse_header("disk.img", real, [(real - 512, 512)], stored=512) + b"\x01" * 512
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("GNUSparseFile.0/pax.img")
        ti.size = 512
        ti.pax_headers = {
            "GNU.sparse.major": "0",
            "GNU.sparse.minor": "1",
            "GNU.sparse.name": "pax.img",
            "GNU.sparse.size": str(real),
            "GNU.sparse.map": f"{real - 512},512",
        }
        tf.addfile(ti, io.BytesIO(b"\x02" * 512))
    layer = old_gnu + buf.getvalue()  # tarfile already wrote the end-of-archive blocks
    tracemalloc.start()
    try:
        with line_budget(5_000):
            seen = []
            for e in _entries(gzip.compress(layer)):
                assert (e.kind, e.size) == ("file", real)
                with pytest.raises(FileTooLarge):
                    e.read()
                with pytest.raises(FileTooLarge):
                    next(e.chunks())
                seen.append(e.path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == ["disk.img", "pax.img"]
    assert peak < 32 << 20


def test_small_sparse_files_read_back_with_their_holes() -> None:
    data = b"\x00" * 10 + b"abc" + b"\x00" * 20 + b"xyz" + b"\x00" * 5
    old_gnu = gnu_sparse_header("s.bin", len(data), [(10, 3), (33, 3)], stored=6)
    layer = old_gnu + b"abcxyz" + bytes(506) + tar_member("after", b"ok") + END
    got = [(e.path, e.size, e.read()) for e in iter_layer(io.BytesIO(layer))]
    assert got == [("s.bin", len(data), data), ("after", 2, b"ok")]
    it = iter_layer(io.BytesIO(layer))
    first = next(it)
    pieces = list(first.chunks(4))
    assert b"".join(pieces) == data and max(map(len, pieces)) == 4


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is needed to write real sparse archives")
@pytest.mark.parametrize(
    "fmt", ["gnu", "pax"]
)  # GNU old-style 'S' and PAX sparse 1.0, as GNU tar writes them
def test_gnu_tar_sparse_archives(tmp_path: Path, fmt: str) -> None:
    small = tmp_path / "src" / "small.img"
    small.parent.mkdir()
    with open(small, "wb") as f:
        f.seek(100_000)
        f.write(b"middle")
        f.seek(300_000)
        f.write(b"end")
        f.truncate(400_000)
    huge = tmp_path / "src" / "huge.img"
    with open(huge, "wb") as f:
        f.seek((4 << 30) - 4)
        f.write(b"tail")
    out = tmp_path / "sparse.tar"
    subprocess.run(
        ["tar", "-S", f"--format={fmt}", "-cf", str(out), "-C", str(tmp_path / "src"), "."], check=True
    )
    assert out.stat().st_size < 1 << 20
    by_path = {}
    for e in iter_layer(io.BytesIO(out.read_bytes())):
        if e.kind == "file":
            by_path[e.path] = e.size
            if e.path == "small.img":
                assert e.read() == small.read_bytes()
            else:
                with pytest.raises(FileTooLarge):
                    e.read()
    assert by_path == {"small.img": 400_000, "huge.img": 4 << 30}


def test_huge_declared_sizes() -> None:
    # a plain member claiming 100 GiB with nothing behind it: refused on read, truncation reported on skip
    layer = tar_header("claims-10g", size_field=base256(10 << 30)) + b"short"
    with pytest.raises(LayerError, match="truncated tar stream"):
        for e in iter_layer(io.BytesIO(gzip.compress(layer))):
            with pytest.raises(FileTooLarge):
                e.read()
    # sizes beyond the layer limit (2**88) are refused before anything is read
    layer = tar_header("overflow", size_field=base256(1 << 80)) + END
    with pytest.raises(
        LayerError, match="declares 1208925819614629174706176 bytes, more than the layer limit"
    ):
        _entries(layer)


def test_negative_and_garbage_size_fields() -> None:
    with pytest.raises(LayerError, match="invalid size \\(negative number\\)"):
        _entries(tar_header("neg", size_field=base256(-1)) + END)
    with pytest.raises(LayerError, match="invalid size"):
        _entries(tar_header("junk", size_field=b"12x45\0\0\0\0\0\0\0") + END)


PER_ENTRY = 50  # calls of Vigil code per tar entry (17 today): no per-entry cost that grows with the layer
_MANY_FILES = """
import gzip, io, resource, sys
from tests.image_helpers import END, tar_member
from tests.work_budget import call_budget
from vigil.sources.image.layers import iter_layer

blob = io.BytesIO()
with gzip.GzipFile(fileobj=blob, mode="wb", compresslevel=1) as gz:  # streamed: the 150 MB tar never exists
    for i in range(100_000):
        gz.write(tar_member(f"d{i // 1000}/f{i}", (b"%06d" % i) * 150))
    gz.write(END)
blob.seek(0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = total = 0
with call_budget(10**9) as work:
    for e in iter_layer(blob):
        n += 1
        total += len(e.read())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(n, total, (after - before) * 1024, work.used)
"""


def test_100k_tiny_files_bounded_memory_and_work() -> None:
    # in a fresh interpreter: its peak RSS (C allocations included) is not inflated by earlier tests, and
    # tracemalloc would slow the loop tenfold; 100 000 files of 900 bytes: a reader that kept them would need 90 MB
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, "-c", _MANY_FILES], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr[-2000:]
    n, total, grown, calls = res.stdout.split()
    assert int(n) == 100_000 and int(total) == 100_000 * 900
    assert int(grown) < 64 << 20, f"peak RSS grew by {int(grown) >> 20} MiB"
    assert int(calls) <= 100_000 * PER_ENTRY, f"{int(calls) / 100_000:.0f} calls of Vigil code per entry"


def test_truncated_streams() -> None:
    blob = debian_layers()[1][2]
    with line_budget(500_000), pytest.raises(LayerError, match="truncated gzip stream"):
        _entries(blob[: len(blob) // 2])
    raw = gzip.decompress(blob)
    with (
        line_budget(500_000),
        pytest.raises(LayerError, match=r"^layer sha256:(ab)+: truncated tar stream at offset \d+$"),
    ):
        _entries(raw[: len(raw) // 2 + 100])
    zst = zstandard.ZstdCompressor().compress(raw)
    with line_budget(500_000), pytest.raises(LayerError, match="truncated"):
        _entries(zst[: len(zst) // 2])


def test_garbage_and_corrupt_streams() -> None:
    rnd = bytes((i * 7919 + 13) % 251 for i in range(100_000))
    with pytest.raises(LayerError, match="not a tar archive \\(bad header checksum at offset 0\\)"):
        _entries(rnd)
    with pytest.raises(LayerError, match="corrupt gzip stream"):
        _entries(b"\x1f\x8b" + rnd)
    with pytest.raises(LayerError, match="corrupt zstd stream"):
        _entries(b"\x28\xb5\x2f\xfd" + rnd)
    good = tar_member("a", b"1")
    bad = bytearray(tar_member("b", b"2"))
    bad[0] = ord("c")  # checksum no longer matches
    with pytest.raises(LayerError, match="corrupt tar header \\(bad header checksum at offset 1024\\)"):
        _entries(good + bytes(bad) + END)


def test_hostile_metadata_headers() -> None:
    huge_pax = tar_header("././@PaxHeader", 2 << 20, typeflag=b"x") + bytes(2 << 20)
    with pytest.raises(LayerError, match="pax header of 2097152 bytes refused"):
        _entries(huge_pax + END)
    bad_pax = tar_header("././@PaxHeader", 512, typeflag=b"x") + b"99 path=x\n" + bytes(502)
    with pytest.raises(LayerError, match="corrupt pax header"):
        _entries(bad_pax + tar_member("f") + END)
    many = b"".join(tar_member(f"f{i}") for i in range(50)) + END
    with pytest.raises(LayerError, match="more than 10 tar entries"):
        _entries(many, limits=LayerLimits(max_entries=10))


def test_empty_blob_and_trailing_data() -> None:
    assert _entries(b"") == []
    assert _entries(END) == []
    layer = tar_member("a", b"x") + END
    # zero padding and junk after the gzip stream are ignored like gzip(1) does; the tar stream ended before
    assert [e.path for e in _entries(gzip.compress(layer) + bytes(100))] == ["a"]
    assert [e.path for e in _entries(gzip.compress(layer) + b"junk after the stream")] == ["a"]


def test_pax_1_0_sparse_map_without_line_breaks_is_refused_quickly() -> None:
    # PAX sparse 1.0 keeps its map in the data, one decimal number per line: a map that is one endless "line" of
    # digits must be refused at once, not re-split block after block (quadratic time, memory up to the entry size)
    stored = b"1" * (8 << 20)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("GNUSparseFile.0/tool")
        ti.size, ti.mode = len(stored), 0o755
        ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "usr/bin/tool",
                          "GNU.sparse.realsize": "100"}
        tf.addfile(ti, io.BytesIO(stored))
    tracemalloc.start()
    try:
        with line_budget(5_000), pytest.raises(LayerError, match="invalid sparse map"):
            for e in iter_layer(io.BytesIO(gzip.compress(buf.getvalue(), 1)), digest=DIGEST):
                e.read()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20
