"""iter_layer on the real layers of ../shared/data/images/debian-vuln.oci.tar (gzip), and the same layers recompressed
as zstd and as plain tar: entries, whiteouts/opaque dirs, modes and content checked against `tarfile`."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections import Counter

import pytest
import zstandard

from tests.conftest import Golden
from tests.image_helpers import debian_layers, tar_member
from vigil.sources.fs import FileTooLarge
from vigil.sources.image.layers import Entry, HardlinkUnavailable, LayerError, LayerLimits, iter_layer


def _entries(blob: bytes, **kw: object) -> list[Entry]:
    return list(iter_layer(io.BytesIO(blob), **kw))  # type: ignore[arg-type]


def _row(e: Entry) -> dict[str, object]:
    return {"path": e.path, "kind": e.kind, "size": e.size, "mode": oct(e.mode), "linkname": e.linkname}


def _tarfile_contents(raw: bytes) -> dict[str, bytes]:
    """What the standard library gives for every regular file (the reference for our reader)."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tf:
        for m in tf:
            if m.isreg() and "/.wh." not in "/" + m.name:  # whiteouts are not files for us
                f = tf.extractfile(m)
                assert f is not None
                out[m.name.removeprefix("./")] = f.read()
    return out


def test_entry_counts_and_kinds_per_layer(golden: Golden) -> None:
    summary = []
    for digest, _diff_id, blob in debian_layers():
        kinds = Counter(e.kind for e in _entries(blob, digest=digest))
        summary.append(
            {"digest": digest, "entries": sum(kinds.values()), "kinds": dict(sorted(kinds.items()))}
        )
    # hand-checked with `tar tvzf` on each blob: layer 1 has 5233 files, 781 dirs (+ "./"), 642 symlinks, 2 links
    assert summary[0]["kinds"] == {"dir": 781, "file": 5233, "hardlink": 2, "symlink": 642}
    assert [s["entries"] for s in summary] == [6658, 2389, 7975, 8, 3]
    golden.check("image_layers_debian_summary", summary)


def test_whiteouts_and_opaque_dir() -> None:
    layers = debian_layers()
    l4 = _entries(layers[3][2])
    l5 = _entries(layers[4][2])
    whiteouts = sorted(e.path for e in l4 if e.kind == "whiteout")
    assert whiteouts == [
        "etc/motd",
        "usr/local/lib/python3.11/dist-packages/pyyaml-5.3.dist-info",
        "usr/local/lib/python3.11/dist-packages/yaml",
    ]
    assert [(e.kind, e.path) for e in l5] == [
        ("dir", "opt/legacy/lib"),
        ("opaque", "opt/legacy/lib"),
        ("file", "opt/legacy/lib/NOTICE.txt"),
    ]
    # no ".wh." name ever reaches the consumer
    assert not [e for e in l4 + l5 if ".wh." in e.path]


def test_golden_small_layers(golden: Golden) -> None:
    layers = debian_layers()
    golden.check(
        "image_layers_debian_l4_l5",
        {
            "layer4": [_row(e) for e in _entries(layers[3][2])],
            "layer5": [_row(e) for e in _entries(layers[4][2])],
        },
    )


def test_executables_modes_and_links() -> None:
    by_path = {e.path: e for e in _entries(debian_layers()[0][2])}
    assert by_path["usr/bin/dpkg"].kind == "file" and by_path["usr/bin/dpkg"].executable
    assert by_path["usr/bin/dpkg"].mode == 0o755
    assert not by_path["etc/debian_version"].executable and by_path["etc/debian_version"].mode == 0o644
    assert by_path["usr/bin/perl5.36.0"].kind == "hardlink"
    assert by_path["usr/bin/perl5.36.0"].linkname == "usr/bin/perl"
    symlinks = [e for e in by_path.values() if e.kind == "symlink"]
    assert symlinks and all(e.size == 0 and e.linkname for e in symlinks)
    assert all(not e.path.startswith(("/", "./")) and "//" not in e.path for e in by_path.values())
    l3 = {e.path: e for e in _entries(debian_layers()[2][2])}
    assert l3["usr/local/bin/django-admin"].executable


def test_read_and_chunks_agree_with_tarfile() -> None:
    for _digest, _diff_id, blob in debian_layers()[1:5]:
        expected = _tarfile_contents(blob)
        got_read: dict[str, bytes] = {}
        got_chunks: dict[str, str] = {}
        for i, e in enumerate(iter_layer(io.BytesIO(blob))):
            if e.kind != "file":
                continue
            if i % 2:
                got_read[e.path] = e.read()
                assert e.read() == got_read[e.path]  # read() twice is fine
            else:
                h = hashlib.sha256()
                pieces = list(e.chunks(64 << 10))
                assert all(0 < len(p) <= 64 << 10 for p in pieces)
                for p in pieces:
                    h.update(p)
                got_chunks[e.path] = h.hexdigest()
        assert set(got_read) | set(got_chunks) == set(expected)
        for p, data in got_read.items():
            assert data == expected[p], p
        for p, digest in got_chunks.items():
            assert digest == hashlib.sha256(expected[p]).hexdigest(), p


def _zstd_and_plain(blob: bytes) -> tuple[bytes, bytes]:
    raw = gzip.decompress(blob)
    # two frames: zstd layers written by streaming tools often have several; read_across_frames must join them
    c = zstandard.ZstdCompressor(level=1)
    half = len(raw) // 2
    return c.compress(raw[:half]) + c.compress(raw[half:]), raw


def test_zstd_and_plain_tar_layers_match_gzip() -> None:
    _digest, diff_id, blob = debian_layers()[1]
    zst, raw = _zstd_and_plain(blob)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == diff_id
    want = [(_row(e), e.read() if e.kind == "file" else b"") for e in iter_layer(io.BytesIO(blob))]
    for variant in (zst, raw):
        got = [(_row(e), e.read() if e.kind == "file" else b"") for e in iter_layer(io.BytesIO(variant))]
        assert got == want


def test_entry_is_stale_after_the_iterator_moves() -> None:
    blob = debian_layers()[3][2]
    it = iter_layer(io.BytesIO(blob))
    readme = next(e for e in it if e.path == "app/README.txt")
    nxt = next(it)
    assert nxt.path == "app/app.py"
    with pytest.raises(LayerError, match=r"app/README\.txt: entry no longer readable"):
        readme.read()
    assert len(nxt.read()) == nxt.size == 117


def test_large_file_streams_once_and_skips_cleanly() -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    layer = tar_member("big.bin", data) + tar_member("after.txt", b"next") + bytes(1024)
    it = iter_layer(io.BytesIO(gzip.compress(layer)))
    big = next(it)
    gen = big.chunks(1 << 20)
    assert next(gen) == data[: 1 << 20]  # partially consumed, then the consumer moves on
    after = next(it)
    assert (after.path, after.read()) == ("after.txt", b"next")
    with pytest.raises(LayerError, match="no longer readable"):
        next(gen)
    it2 = iter_layer(io.BytesIO(layer))
    big2 = next(it2)
    assert b"".join(big2.chunks(1 << 20)) == data
    with pytest.raises(LayerError, match="already streamed"):
        big2.read()


def test_size_caps_raise_file_too_large() -> None:
    layer = tar_member("a.txt", b"x" * 100) + tar_member("b.txt", b"y" * 10) + bytes(1024)
    it = iter_layer(io.BytesIO(layer), limits=LayerLimits(max_file_size=50))
    a = next(it)
    with pytest.raises(FileTooLarge, match="50-byte limit"):
        a.read()
    with pytest.raises(FileTooLarge):
        list(a.chunks())
    b = next(it)
    with pytest.raises(FileTooLarge, match="5-byte limit"):
        b.read(cap=5)
    assert b.read(cap=10) == b"y" * 10


def test_hardlink_reads_bytes_already_read_in_the_layer() -> None:
    blob = debian_layers()[0][2]
    perl = b""
    for e in iter_layer(io.BytesIO(blob)):
        if e.path == "usr/bin/perl":
            perl = e.read()
        elif e.path == "usr/bin/perl5.36.0":
            assert e.kind == "hardlink" and e.read() == perl and len(perl) > 1000
        elif e.path == "usr/bin/uncompress":  # its target (usr/bin/gunzip) was never read: documented refusal
            with pytest.raises(HardlinkUnavailable, match="hardlink target not available") as err:
                e.read()
            # a per-file condition: consumers that skip FileTooLarge files keep going
            assert isinstance(err.value, FileTooLarge) and isinstance(err.value, LayerError)


def test_read_of_a_file_spanning_many_chunks() -> None:
    data = hashlib.sha256(b"seed").digest() * (300 << 10)  # 9.4 MiB: several decompressed chunks
    layer = tar_member("a", b"1") + tar_member("big", data) + tar_member("z", b"2") + bytes(1024)
    for blob in (layer, gzip.compress(layer, 1), zstandard.ZstdCompressor().compress(layer)):
        got = [(e.path, e.read()) for e in iter_layer(io.BytesIO(blob))]
        assert got == [("a", b"1"), ("big", data), ("z", b"2")]


def test_pre_posix_directory_and_device_kinds() -> None:
    layer = (
        tar_member("olddir/", typeflag=b"\0")  # only the trailing slash says "directory"
        + tar_member("dev/null", typeflag=b"3")
        + tar_member("run/fifo", typeflag=b"6")
        + tar_member("oldfile", b"x", typeflag=b"\0")
        + bytes(1024)
    )
    assert [(e.path, e.kind) for e in iter_layer(io.BytesIO(layer))] == [
        ("olddir", "dir"),
        ("dev/null", "other"),
        ("run/fifo", "other"),
        ("oldfile", "file"),
    ]
