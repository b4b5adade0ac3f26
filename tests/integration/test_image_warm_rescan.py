"""A warm rescan of an image is a cache lookup: every layer, the config's secret scan and the report detection made
of them are in the analysis cache, so the run imports no analyzer, no secret engine, no hyperscan, and neither
opens the vulnerability DB nor matches, and reports exactly what the cold scan did. Checked by the modules a run
loaded (never by wall-clock time) and by what the cache holds."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.oci_builder import layer_tar, write_layout

TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"  # github-pat shape (fake)
APK = b"""C:Q1abc=
P:zlib
V:1.2.12-r0
A:x86_64
o:zlib
L:Zlib

"""

# Writes every loaded module's name to a file at exit (importlib.import_module'd analyzers included).
_PROBE = """
import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "vigil"
from vigil.shells.cli.main import main
main()
"""

# What a warm rescan of an OCI layout directory has no use for: the analyzers and their parsers, the secret rules
# (their digest is read, not computed), the secret engine and its matchers, archive readers, worker pools.
ANALYSIS = ("vigil.analyzers.lang", "vigil.analyzers.os", "vigil.analyzers.secrets.engine",
            "vigil.analyzers.secrets.rules",
            "vigil.analyzers.secrets.linear", "vigil.analyzers.secrets.image_config", "hyperscan", "zipfile", "tarfile",
            "vigil.analyzers.misconf", "multiprocessing", "concurrent")
# What a rescan with the report kept has no use for: the matchers (the DB's metadata is still read, by the step
# that checks the DB is there and current).
DETECTION = ("vigil.detectors.vuln", "vigil.detectors.registry")


def _scan(tmp_path: Path, layout: Path, db: Path, name: str, *extra: str) -> tuple[dict[str, object], set[str]]:
    out, mods = tmp_path / f"{name}.json", tmp_path / f"{name}.modules"
    cmd = [sys.executable, "-c", _PROBE, str(mods), "image", "--input", str(layout), "--scanners", "vuln,secret",
           "--list-all-pkgs", "--format", "json", "-o", str(out), "-q", "--skip-db-update", "--db-path", str(db),
           "--cache-dir", str(tmp_path / "cache"), *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    doc: dict[str, object] = json.loads(out.read_text())
    doc.pop("CreatedAt")
    doc.pop("ReportID", None)
    return doc, set(mods.read_text().split())


def _loaded(mods: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in mods if m.startswith(prefixes) and any(m == p or m.startswith(p + ".") for p in prefixes)}


def test_warm_rescan_imports_no_analyzer_and_reports_the_same(tmp_path: Path, fixture_db: Path) -> None:
    base = layer_tar({"etc/os-release": b'ID=alpine\nVERSION_ID=3.16.0\n', "lib/apk/db/installed": APK})
    app = layer_tar({"app/.env": f"GITHUB_TOKEN={TOKEN}\n".encode(),
                     "usr/lib/python3.11/site-packages/requests-2.19.0.dist-info/METADATA":
                         b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n"})
    layout = write_layout(tmp_path / "img", [base, app], config={"Env": [f"GITHUB_TOKEN={TOKEN}"]})

    # in this process (no worker processes): its modules show the analyzers and the secret engine ran, so the warm
    # check below is not vacuous
    cold, cold_mods = _scan(tmp_path, layout, fixture_db, "cold", "--parallel", "1")
    assert {"vigil.analyzers.os.apk", "vigil.analyzers.lang.python_pkg",
            "vigil.analyzers.secrets.engine"} <= cold_mods
    # and only the analyzers its files want: no lockfile, Java, .NET or other OS's analyzer is imported
    assert not _loaded(cold_mods, ("vigil.analyzers.lang.npm_lock", "vigil.analyzers.lang.pom_xml",
                                   "vigil.analyzers.lang.jar", "vigil.analyzers.lang.dotnet_deps",
                                   "vigil.analyzers.os.dpkg", "vigil.analyzers.os.rpm")), sorted(cold_mods)
    # nor the libraries the table-driven steps replaced: SPDX names come from data/spdx_ids.json, Python metadata
    # headers are read without the email package
    assert not _loaded(cold_mods, ("license_expression", "email.parser"))
    results = {(r.get("Class"), r.get("Target")): r for r in cold["Results"]}  # type: ignore[attr-defined]
    assert any(r.get("Class") == "secret" and r.get("Target") == str(layout) for r in results.values())  # config
    assert any(r.get("Class") == "secret" and r.get("Target") == "app/.env" for r in results.values())  # a layer
    assert any(r.get("Class") == "os-pkgs" for r in results.values())

    warm, warm_mods = _scan(tmp_path, layout, fixture_db, "warm")
    assert warm == cold
    assert not _loaded(warm_mods, ANALYSIS), sorted(_loaded(warm_mods, ANALYSIS))
    assert "vigil.pipeline.scan" in warm_mods  # the scan did run
    assert set(DETECTION) <= cold_mods  # the cold scan matched…
    assert not _loaded(warm_mods, DETECTION), sorted(_loaded(warm_mods, DETECTION))  # … the warm one read its report

    # the cache holds the two layers, the config's secrets and the report: nothing was analysed again
    db = sqlite3.connect(tmp_path / "cache" / "analysis" / "analysis.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM blobs WHERE key NOT LIKE 'report:%'").fetchone()[0] == 3
        assert db.execute("SELECT count(*) FROM blobs WHERE key LIKE 'report:%'").fetchone()[0] == 1
    finally:
        db.close()

    # a new DB file (what an update installs) is matched again, and reports the same here
    fresh = tmp_path / "fresh.db"
    shutil.copyfile(fixture_db, fresh)
    again, again_mods = _scan(tmp_path, layout, fresh, "fresh")
    assert again == cold
    assert set(DETECTION) <= again_mods


def _layout(tmp_path: Path) -> Path:
    base = layer_tar({"etc/os-release": b'ID=alpine\nVERSION_ID=3.16.0\n', "lib/apk/db/installed": APK})
    app = layer_tar({"usr/lib/python3.11/site-packages/requests-2.19.0.dist-info/METADATA":
                     b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n"})
    return write_layout(tmp_path / "img", [base, app])


def _damage_layers(tmp_path: Path, *, drop_reports: bool) -> int:
    """Overwrite every kept blob (the layers' and the config's secrets) with bytes that do not decode; returns how
    many."""
    db = sqlite3.connect(tmp_path / "cache" / "analysis" / "analysis.sqlite")
    try:
        n: int = db.execute("UPDATE blobs SET value = x'c1' WHERE key NOT LIKE 'report:%'").rowcount
        if drop_reports:
            db.execute("DELETE FROM blobs WHERE key LIKE 'report:%'")
        db.commit()
    finally:
        db.close()
    return n


def test_a_kept_report_is_returned_without_reading_the_layers(tmp_path: Path, fixture_db: Path) -> None:
    """The report is the detection of blobs with exactly these keys: a rescan that finds it does not decode the
    layers' blobs, so blobs that no longer decode do not matter to it."""
    layout = _layout(tmp_path)
    cold, _ = _scan(tmp_path, layout, fixture_db, "cold")
    assert _damage_layers(tmp_path, drop_reports=False) == 3  # two layers, the config's secrets
    warm, mods = _scan(tmp_path, layout, fixture_db, "warm")
    assert warm == cold
    # no layer analysed and nothing matched (the config's secrets, damaged too and not part of the report, are
    # scanned again)
    layers = ("vigil.analyzers.lang", "vigil.analyzers.os", *DETECTION)
    assert not _loaded(mods, layers), sorted(_loaded(mods, layers))
    assert "vigil.analyzers.secrets.image_config" in mods


def test_layers_that_no_longer_decode_are_analysed_again(tmp_path: Path, fixture_db: Path) -> None:
    """Without a kept report, detection needs the blobs: those that do not decode count as missing, the layers are
    analysed again, the report is the same and the cache holds decodable blobs again."""
    layout = _layout(tmp_path)
    cold, _ = _scan(tmp_path, layout, fixture_db, "cold")
    assert _damage_layers(tmp_path, drop_reports=True) == 3
    again, mods = _scan(tmp_path, layout, fixture_db, "again")
    assert again == cold
    assert {"vigil.analyzers.os.apk", "vigil.analyzers.lang.python_pkg"} <= mods  # analysed, not read
    db = sqlite3.connect(tmp_path / "cache" / "analysis" / "analysis.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM blobs WHERE value = x'c1'").fetchone()[0] == 0
    finally:
        db.close()
    third, mods = _scan(tmp_path, layout, fixture_db, "third")
    assert third == cold
    assert not _loaded(mods, ANALYSIS), sorted(_loaded(mods, ANALYSIS))
