"""Start-up cost, checked by what a run imports and compiles (never by wall-clock time): `vigil --version` and a
scan of an empty directory load none of the heavy modules they have no use for, and the secret engine's compiled
hyperscan database is reused by the next run (and rebuilt when its file is damaged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli_helpers import run

from vigil.analyzers.secrets.engine import HYPERSCAN_MIN_BYTES, hyperscan_available

# Never needed to print a version or a JSON report of an empty directory.
HEAVY = {"rich", "yaml", "_yaml", "hyperscan", "multiprocessing", "concurrent", "email", "tempfile", "jinja2",
         "httpx", "fastapi", "uvicorn", "redis", "regopy", "zstandard", "vigil.analyzers.misconf",
         "vigil.dbdist.artifact", "vigil.dbdist.source", "vigil.vulndb.delta", "vigil.sources.image",
         "vigil.reporters.table", "importlib.resources",
         "json",  # the standard library's: msgspec encodes and decodes; json serves misconfiguration and slow paths
         "dataclasses",  # no record of the scan path is one (see SCAN_DATACLASSES)
         "logging"}  # loaded only to write a record that is shown (vigil.log): with -q, or nothing to say, never


# Runs the CLI's entry point and, at exit, writes every loaded module's name to a file: exact, unlike parsing
# `-X importtime` output, which misses modules loaded through importlib.import_module (the analyzer registry's).
# Also written, as "dataclass:<module>.<class>": the dataclasses the loaded Vigil modules define.
_PROBE = """
import atexit, sys
out = sys.argv.pop(1)
def dump():
    names = sorted(sys.modules)
    for name in names:
        if name.startswith("vigil."):
            for c in list(vars(sys.modules[name]).values()):
                if isinstance(c, type) and c.__module__ == name and "__dataclass_fields__" in c.__dict__:
                    names.append(f"dataclass:{name}.{c.__qualname__}")
    open(out, "w").write("\\n".join(names))
atexit.register(dump)
sys.argv[0] = "vigil"
from vigil.shells.cli.main import main
main()
"""

# The dataclasses a scan may define: none. Defining one costs ~1 ms on Python 3.11 (its methods are generated as
# source and compiled; ScanOptions' 43 fields cost ~3.5 ms), so the records of the scan path, the option set and the
# analyzers' own record included, are msgspec Structs (~0.02 ms). An analyzer's module may keep its own (go.mod's
# parse records): it is imported only when a file needs it.
SCAN_DATACLASSES: set[str] = set()


def _dataclasses(mods: set[str]) -> set[str]:
    return {m.removeprefix("dataclass:") for m in mods if m.startswith("dataclass:")}


def _imported(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.txt"
    p = subprocess.run([sys.executable, "-c", _PROBE, str(out), *args], capture_output=True, text=True, cwd=tmp_path,
                       env=_env(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    return set(out.read_text().split())


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    e = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    e["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return e


def _heavy(mods: set[str], allowed: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    return {m for m in mods for h in HEAVY - allowed if m == h or m.startswith(h + ".")}


def test_version_imports_neither_the_pipeline_nor_the_records(tmp_path: Path) -> None:
    mods = _imported(tmp_path, "--version")
    assert not _heavy(mods)
    assert not {m for m in mods if m.startswith(("vigil.pipeline", "vigil.findings", "vigil.analyzers", "msgspec",
                                                 "sqlite3", "vigil.shells.cli.cmd_"))}
    # nor the option table and the helpers of the commands (main imports them only to report an error), nor pathlib
    assert not mods & {"vigil.settings", "vigil.shells.cli.common", "vigil.reporters", "pathlib"}
    assert "click" in mods  # the check would pass vacuously if the CLI had not run


@pytest.mark.parametrize("command", ["--help", "fs --help", "rootfs --help", "config --help", "image --help"])
def test_help_loads_the_option_table_but_not_msgspec(tmp_path: Path, command: str) -> None:
    """The option set of a scan (vigil.scan_options.ScanOptions, a msgspec Struct) is named by vigil.settings
    without importing it there: `--help` reads the option table and prints, with no msgspec (~10 ms)."""
    mods = _imported(tmp_path, *command.split())
    assert "vigil.settings" in mods
    assert not {m for m in mods if m == "msgspec" or m.startswith(("msgspec.", "vigil.scan_options"))}


def test_scan_options_is_a_struct_named_by_settings() -> None:
    import msgspec

    from vigil import scan_options, settings

    assert settings.ScanOptions is scan_options.ScanOptions
    assert issubclass(settings.ScanOptions, msgspec.Struct)
    assert scan_options.SEVERITY_NAMES == settings.SEVERITY_NAMES
    opts = settings.ScanOptions(target=Path("."), db_path=Path("db"))
    assert msgspec.structs.replace(opts, parallel=2).parallel == 2 and opts.parallel == 0


def test_the_probe_sees_the_dataclasses_an_analyzer_defines(tmp_path: Path, fixture_db: Path) -> None:
    """The dataclass checks above would pass vacuously if the probe could not see a dataclass: a Cargo.lock makes the
    scan import its analyzer, whose module defines its parse records as dataclasses."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "Cargo.lock").write_text('version = 3\n\n[[package]]\nname = "a"\nversion = "1.0.0"\n')
    mods = _imported(tmp_path, "fs", str(tmp_path / "proj"), "--format", "json", "-q", "--skip-db-update",
                     "--db-path", str(fixture_db))
    assert "vigil.analyzers.lang.cargo_lock._Crate" in _dataclasses(mods)


@pytest.mark.parametrize("scanners", ["secret", "vuln"])
def test_empty_directory_json_scan_imports_nothing_heavy(tmp_path: Path, fixture_db: Path, scanners: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    mods = _imported(tmp_path, "fs", str(empty), "--scanners", scanners, "--format", "json", "-q",
                     "--skip-db-update", "--db-path", str(fixture_db))
    assert not _heavy(mods)
    assert "vigil.pipeline.scan" in mods  # the check would pass vacuously if the scan had not run
    assert _dataclasses(mods) <= SCAN_DATACLASSES, sorted(_dataclasses(mods) - SCAN_DATACLASSES)
    # no ignore file, no VEX document, no finding: neither the filters nor remediation are loaded
    assert not {m for m in mods if m.startswith(("vigil.findings.suppress", "vigil.findings.vex",
                                                 "vigil.detectors.remediation"))}
    if scanners == "vuln":
        # analyzers are imported when a file needs them: with no file, none (nor the table of which files they want
        # is skipped: the scan did decide, from it, that nothing was wanted)
        assert "vigil.analyzers.paths" in mods
        assert not {m for m in mods if m.startswith(("vigil.analyzers.secrets", "vigil.analyzers.os",
                                                     "vigil.analyzers.lang"))}
    else:  # no DB, no analyzer, no analysis cache: a secret scan needs none of them; nor, with no file, the rules
        # (the secrets package itself only names the engine and reads the packaged rules' digest)
        assert not {m for m in mods if m.startswith(("vigil.dbdist.update", "vigil.vulndb", "sqlite3", "vigil.cache",
                                                     "vigil.analyzers.lang", "vigil.analyzers.os",
                                                     "vigil.analyzers.secrets."))}


def test_image_scan_with_findings_loads_vex_only_for_a_vex_document(tmp_path: Path, fixture_db: Path) -> None:
    """Findings are filtered (vigil.findings.suppress), but the VEX parsers and matcher are loaded only with --vex;
    the warm rescan (its report kept) does not load the DB's query API; and the scan of this layout directory, cold
    (the secret engine and its rules loaded) or warm, makes no temporary directory and defines no dataclass beyond
    SCAN_DATACLASSES."""
    from tests.oci_builder import layer_tar, write_layout

    token = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"  # github-pat shape (fake)
    layout = write_layout(tmp_path / "img", [layer_tar({"etc/os-release": b"ID=alpine\nVERSION_ID=3.16.0\n",
                                                        "app/.env": f"GITHUB_TOKEN={token}\n".encode()})])
    args = ("image", "--input", str(layout), "--scanners", "vuln,secret", "--format", "json", "-q",
            "--skip-db-update", "--db-path", str(fixture_db), "--cache-dir", str(tmp_path / "cache"))
    for run_ in ("cold", "warm"):
        mods = _imported(tmp_path, *args, "-o", str(tmp_path / f"{run_}.json"))
        assert json.loads((tmp_path / f"{run_}.json").read_text())["Results"]  # a finding was filtered…
        assert "vigil.findings.suppress" in mods
        assert "vigil.findings.vex" not in mods  # … without the VEX module
        assert _dataclasses(mods) <= SCAN_DATACLASSES, sorted(_dataclasses(mods) - SCAN_DATACLASSES)
        # a layout directory is read in place: no temporary directory, nor the tempfile module and what it loads
        assert not {"tempfile", "shutil", "bz2", "lzma"} & mods, sorted({"tempfile", "shutil", "bz2", "lzma"} & mods)
        # a small image with no compiled database kept: the re backend, without importing hyperscan to look
        assert "hyperscan" not in mods
        assert "difflib" not in mods  # -q and -o reach click as --quiet and --output: no failed long-option try
        # the end-of-life warning of alpine 3.16 is below -q's level: dropped without loading logging
        assert "logging" not in mods
        if run_ == "cold":
            assert "vigil.analyzers.secrets.engine" in mods
            assert "vigil.vulndb.store" in mods  # detection queried the DB…
        else:  # … the rescan read the report kept, and only checked the DB is there (no query API loaded)
            assert "vigil.vulndb.store" not in mods
    # the same image as an OCI archive (a plain tar): read in place as well, with no temporary directory
    import tarfile

    archive = tmp_path / "img.tar"
    with tarfile.open(archive, "w") as tf:
        for p in sorted(layout.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(layout)), recursive=False)
    tar_args = ("image", "--input", str(archive), *args[3:-2], "--cache-dir", str(tmp_path / "tar-cache"))
    mods = _imported(tmp_path, *tar_args, "-o", str(tmp_path / "tar.json"))
    assert "vigil.sources.image.archive" in mods and "tarfile" in mods  # the archive was read as a tar…
    assert not {"tempfile", "random"} & mods, sorted({"tempfile", "random"} & mods)  # … in place
    assert json.loads((tmp_path / "tar.json").read_text())["Results"]
    vex = tmp_path / "vex.json"
    vex.write_text(json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex-1",
                               "author": "test", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
                               "statements": []}))
    assert "vigil.findings.vex" in _imported(tmp_path, *args, "-o", str(tmp_path / "vex.json.out"), "--vex", str(vex))


def _secret_scan(tmp_path: Path, target: Path) -> dict[str, object]:
    p = run("fs", str(target), "--scanners", "secret", "--format", "json", "-q", "--skip-db-update", cwd=tmp_path,
            env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert p.returncode == 0, p.stderr
    doc: dict[str, object] = json.loads(p.stdout)
    doc.pop("CreatedAt")
    return doc


@pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan")
def test_compiled_rules_are_kept_reused_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    target = tmp_path / "src"
    target.mkdir()
    (target / "app.env").write_text("GITHUB_TOKEN=ghp_" + "Zq8xY2wV" * 4 + "AbCd\n")
    # enough bytes that the engine compiles hyperscan's database (a smaller scan uses re: SecretScanner.plan)
    (target / "filler.txt").write_bytes(b"nothing secret here\n" * (HYPERSCAN_MIN_BYTES // 20 + 1))
    first = _secret_scan(tmp_path, target)
    [cached] = (tmp_path / "cache" / "vigil" / "compiled").glob("hyperscan-*.bin")
    stamp = cached.stat().st_mtime_ns
    assert _secret_scan(tmp_path, target) == first
    assert cached.stat().st_mtime_ns == stamp  # loaded, not compiled and rewritten
    cached.write_bytes(cached.read_bytes()[:1000])  # a damaged file: ignored, compiled again, replaced
    assert _secret_scan(tmp_path, target) == first
    assert cached.stat().st_size > 1000
    p = run("clean", "--scan-cache", cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert p.returncode == 0, p.stderr
    assert not cached.exists()


_FREEZE_PROBE = """
import atexit, gc, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(str(gc.get_freeze_count())))
sys.argv[0] = "vigil"
from vigil.shells.cli.main import main
main()
"""


@pytest.mark.parametrize("args", [("--version",), ("fs", "{empty}", "--scanners", "secret", "-q"),
                                  ("fs", "{missing}", "--scanners", "secret")])
def test_the_cli_exits_with_its_objects_left_out_of_the_final_collections(tmp_path: Path, args: tuple[str, ...]
                                                                          ) -> None:
    """The interpreter's collections at exit would walk every module, class and function the run loaded (~8 % of a
    small scan's instructions): main freezes them first, on success and on a user error alike."""
    (tmp_path / "empty").mkdir()
    argv = [a.format(empty=tmp_path / "empty", missing=tmp_path / "missing") for a in args]
    out = tmp_path / "frozen.txt"
    p = subprocess.run([sys.executable, "-c", _FREEZE_PROBE, str(out), *argv], capture_output=True, text=True,
                       cwd=tmp_path, env=_env(tmp_path))
    assert p.returncode == (2 if "{missing}" in args else 0), p.stderr[-2000:]
    assert int(out.read_text()) > 10_000  # every object alive at exit: the loaded modules' functions and classes


# Runs the `vigil` entry point (vigil.shells.cli.launch.run) and writes, at exit: the collections that started, once
# run() was called, before the command's module was loaded, all collections since, whether the collector is on, and how many objects are frozen.
_LAUNCH_PROBE = """
import atexit, gc, sys
out = sys.argv.pop(1)
early = []
sys.argv[0] = "vigil"
from vigil.shells.cli.launch import run
gc.callbacks.append(lambda phase, info: phase == "start" and early.append("vigil.shells.cli.cmd_fs" not in sys.modules))
atexit.register(lambda: open(out, "w").write(f"{sum(early)} {len(early)} {gc.isenabled()} {gc.get_freeze_count()}"))
run()
"""


def test_the_entry_point_runs_no_collection_until_the_command_is_loaded(tmp_path: Path, fixture_db: Path) -> None:
    """Start-up objects live until exit: `vigil` loads the CLI and the command with the collector off, then freezes
    what is loaded and turns it back on for the scan, which does collect (its objects are not frozen)."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "go.mod").write_text("module example.com/x\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n")
    out = tmp_path / "gc.txt"
    p = subprocess.run([sys.executable, "-c", _LAUNCH_PROBE, str(out), "fs", str(tmp_path / "proj"), "-q",
                        "--format", "json", "--skip-db-update", "--db-path", str(fixture_db)],
                       capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["Results"]  # the scan ran and found the go.mod's module
    early, _collections, enabled, frozen = out.read_text().split()
    assert early == "0"  # none while the CLI and `fs` loaded
    assert enabled == "True" and int(frozen) > 10_000  # resumed, with the start-up objects frozen


def test_importing_the_cli_leaves_the_collector_alone() -> None:
    """Only the entry point pauses the collector: a test or a program importing the CLI keeps it on."""
    code = ("import gc; import vigil.shells.cli.main as m; m.cli.make_context('vigil', ['fs', '--help'],"
            " resilient_parsing=True); print(gc.isenabled(), gc.get_freeze_count())")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.split() == ["True", "0"]


def test_the_vigil_script_and_python_m_vigil_use_the_entry_point() -> None:
    from importlib.metadata import entry_points

    assert entry_points(group="console_scripts")["vigil"].value == "vigil.shells.cli.launch:run"
    p = subprocess.run([sys.executable, "-c", "import runpy, vigil.shells.cli.launch as l; l.run = lambda: print('run');"
                        " runpy.run_module('vigil', run_name='__main__')"], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "run"
