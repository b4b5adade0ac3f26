"""OS advisory ETLs (alpine-secdb, debian-dsa/dla, ubuntu-oval, rocky-oval, almalinux-osv), the OS end-of-life data,
and `vigil db build` over the real feeds.

Small excerpts are the real records of tests/fixtures/advisories/feeds.yaml (make_fixture.py); the full files are
../shared/data/advisories. Expected values were read off the source files by hand (see the comments).
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli_helpers import run
from tests.conftest import ADVISORIES, FIXTURE_FEEDS
from vigil.inventory.records import OS_FAMILIES
from vigil.vulndb.build.builder import os_eol_rows
from vigil.vulndb.build.feeds import all_feeds
from vigil.vulndb.build.records import FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval
from vigil.vulndb.store import Store

FEEDS = {f.name: f for f in all_feeds()}
OS_FEED_FILES = {
    "alpine-secdb": ("alpine-secdb/alpine-secdb-2024.jsonl.gz", "alpine-secdb/alpine-secdb.jsonl.gz"),
    "debian-dsa": ("debian/dsa-parsed.jsonl.gz",),
    "debian-dla": ("debian/dla-parsed.jsonl.gz",),
    "ubuntu-oval": (
        "ubuntu-oval/com.ubuntu.noble.usn.oval.xml.gz",
        "ubuntu-oval/com.ubuntu.lunar.usn.oval.xml.gz",
        "ubuntu-oval/com.ubuntu.oracular.usn.oval.xml.gz",
    ),
    "rocky-oval": ("rocky-oval/org.rockylinux.rlsa-9.xml.gz",),
    "almalinux-osv": ("almalinux/almalinux-osv.jsonl.gz",),
}


def needs_shared() -> None:
    if not ADVISORIES.is_dir():
        pytest.skip("../shared advisory data not present")


@cache
def fixture_payload(rel: str) -> bytes:
    """The bytes the builder would parse for one fixture feed file (JSON lines, or the XML text)."""
    data: dict[str, Any] = yaml.safe_load(FIXTURE_FEEDS.read_text(encoding="utf-8"))
    content = data[rel]
    if isinstance(content, str):
        return content.encode()
    return "".join(json.dumps(r) + "\n" for r in content).encode()


def _collect(feed: str, files: list[tuple[str, bytes]]) -> dict[str, AdvisoryRecord]:
    """Records by ID. IDs are unique within one file; the two Alpine snapshots are two files that both name
    old CVEs (the builder merges them per vulnerability), so their affected lists are joined here."""
    out: dict[str, AdvisoryRecord] = {}
    for filename, data in files:
        seen: set[str] = set()
        for rec in FEEDS[feed].parse(filename, data):
            assert rec.id not in seen, f"{feed}: duplicate {rec.id} in {filename}"
            seen.add(rec.id)
            if rec.id in out:
                rec = msgspec.structs.replace(out[rec.id], affected=out[rec.id].affected + rec.affected)
            out[rec.id] = rec
    return out


def parse_fixture(feed: str) -> dict[str, AdvisoryRecord]:
    files = [rel for rel in OS_FEED_FILES[feed] if rel in fixture_files()]
    assert files, feed
    return _collect(feed, [(Path(rel).name, fixture_payload(rel)) for rel in files])


@cache
def fixture_files() -> frozenset[str]:
    return frozenset(yaml.safe_load(FIXTURE_FEEDS.read_text(encoding="utf-8")))


@cache
def parse_real(feed: str) -> dict[str, AdvisoryRecord]:
    needs_shared()
    return _collect(
        feed,
        [(Path(rel).name, gzip.decompress((ADVISORIES / rel).read_bytes())) for rel in OS_FEED_FILES[feed]],
    )


def pkgs(rec: AdvisoryRecord, ecosystem: str, name: str) -> list[AffectedPackage]:
    return [p for p in rec.affected if p.ecosystem == ecosystem and p.name == name]


def below(version: str, severity: str = "") -> AffectedPackage:
    """The expected shape of a "fixed in <version>" entry (ecosystem/name filled in by the caller)."""
    return AffectedPackage(ecosystem="", name="", vulnerable=(Interval(hi=version),), severity=severity)


def same_rule(p: AffectedPackage, expected: AffectedPackage) -> bool:
    return (p.vulnerable, p.safe, p.fixed, p.severity) == (
        expected.vulnerable, expected.safe, expected.fixed, expected.severity
    )


# --------------------------------------------------------------------------------------------------- Alpine


def test_alpine_excerpt() -> None:
    recs = parse_fixture("alpine-secdb")
    # v3.15/main openssl: "1.1.1n-r0": ["CVE-2022-0778"]; v3.16/main zlib: "1.2.12-r2": ["CVE-2022-37434"]
    assert same_rule(pkgs(recs["CVE-2022-0778"], "alpine:3.15", "openssl")[0], below("1.1.1n-r0"))
    assert same_rule(pkgs(recs["CVE-2022-37434"], "alpine:3.16", "zlib")[0], below("1.2.12-r2"))
    # the 2020 snapshot (v3.11/main openssl "1.1.1d-r3": CVE-2019-1551) is read too
    assert same_rule(pkgs(recs["CVE-2019-1551"], "alpine:3.11", "openssl")[0], below("1.1.1d-r3"))
    for rec in recs.values():
        assert rec.source == "alpine-secdb" and not rec.aliases and rec.severity == ""
        assert all(p.ecosystem.startswith("alpine:3.") and p.name for p in rec.affected)


def test_alpine_ids_and_not_affected_key() -> None:
    doc = {
        "distroversion": "v3.5", "reponame": "main",
        "packages": [{"pkg": {"name": "xen", "secfixes": {
            "4.7.1-r3": ["CVE-2016-9932 XSA-200", "XSA-207"],
            "0": ["CVE-2099-0001"],
        }}}],
    }
    recs = {r.id: r for r in FEEDS["alpine-secdb"].parse("x.jsonl", json.dumps(doc).encode())}
    # the CVE wins over the XSA named with it; an XSA alone is kept; "0" = not affected -> nothing
    assert set(recs) == {"CVE-2016-9932", "XSA-207"}
    assert recs["XSA-207"].affected[0].ecosystem == "alpine:3.5"


def test_alpine_full_files() -> None:
    recs = parse_real("alpine-secdb")
    assert 7000 <= len(recs) <= 8500  # unique IDs over both snapshots (10,127 per-file records)
    assert same_rule(pkgs(recs["CVE-2022-0778"], "alpine:3.15", "openssl")[0], below("1.1.1n-r0"))
    assert same_rule(pkgs(recs["CVE-2022-0778"], "alpine:3.16", "openssl3")[0], below("3.0.2-r0"))
    assert same_rule(pkgs(recs["CVE-2022-0778"], "alpine:edge", "openssl")[0], below("3.0.2-r0"))
    assert same_rule(pkgs(recs["CVE-2022-37434"], "alpine:3.16", "zlib")[0], below("1.2.12-r2"))
    assert same_rule(pkgs(recs["CVE-2024-3094"], "alpine:3.20", "xz")[0], below("5.6.1-r2"))
    # the 2020 file and the 2024 file state v3.11 openssl CVE-2019-1551 alike
    assert {p.vulnerable for p in pkgs(recs["CVE-2019-1551"], "alpine:3.11", "openssl")} == {(Interval(hi="1.1.1d-r3"),)}


# --------------------------------------------------------------------------------------------------- Debian


def test_debian_excerpt() -> None:
    dsa = parse_fixture("debian-dsa")
    # DSA-5103-1 openssl: CVE-2021-4160 + CVE-2022-0778; buster 1.1.1d-0+deb10u8, bullseye 1.1.1k-1+deb11u2
    for cve in ("CVE-2021-4160", "CVE-2022-0778"):
        assert same_rule(pkgs(dsa[cve], "debian:10", "openssl")[0], below("1.1.1d-0+deb10u8"))
        assert same_rule(pkgs(dsa[cve], "debian:11", "openssl")[0], below("1.1.1k-1+deb11u2"))
        assert "https://security-tracker.debian.org/tracker/DSA-5103-1" in dsa[cve].references
    # epoch kept: DSA-5218-1 zlib bullseye 1:1.2.11.dfsg-2+deb11u2
    assert same_rule(pkgs(dsa["CVE-2022-37434"], "debian:11", "zlib")[0], below("1:1.2.11.dfsg-2+deb11u2"))
    assert dsa["CVE-2022-37434"].published == "2022-08-25"  # "[25 Aug 2022] DSA-5218-1 zlib"
    # DSA-3699-1 virtualbox jessie <end-of-life>, no CVE: every version affected, keyed by the DSA
    eol = pkgs(dsa["DSA-3699-1"], "debian:8", "virtualbox")[0]
    assert eol.vulnerable == () and eol.safe == () and eol.fixed == ()
    dla = parse_fixture("debian-dla")
    assert same_rule(pkgs(dla["CVE-2022-37434"], "debian:10", "zlib")[0], below("1:1.2.11.dfsg-1+deb10u2"))
    assert {r.source for r in dla.values()} == {"debian-dla"}


def test_debian_states_and_codenames() -> None:
    line = {"id": "DSA-1-1", "date": "01 Aug 2002", "cves": ["CVE-2002-1", "CAN-2002-2"], "fixed": [
        {"release": "lenny", "package": "a", "fixed_version": "<not-affected>"},
        {"release": "squeeze", "package": "a", "fixed_version": "<unfixed>"},
        {"release": "sarge", "package": "a", "fixed_version": "kernel-image-2.4.17-ia64"},
        {"release": "sid", "package": "a", "fixed_version": "1.0-1"},
        {"release": "trixie", "package": "a", "fixed_version": "2:1.0-1"},
    ]}
    (rec,) = FEEDS["debian-dsa"].parse("x.jsonl", json.dumps(line).encode())
    assert rec.id == "CVE-2002-1" and rec.published == "2002-08-01"
    by_eco = {p.ecosystem: p for p in rec.affected}
    # not-affected -> nothing; unfixed -> all versions; not a version / unknown codename -> skipped
    assert set(by_eco) == {"debian:6", "debian:13"}
    assert by_eco["debian:6"].vulnerable == ()
    assert by_eco["debian:13"].vulnerable == (Interval(hi="2:1.0-1"),)


def test_debian_full_files() -> None:
    dsa, dla = parse_real("debian-dsa"), parse_real("debian-dla")
    assert 14000 <= len(dsa) <= 15500 and 8500 <= len(dla) <= 9500
    assert same_rule(pkgs(dsa["CVE-2022-37434"], "debian:11", "zlib")[0], below("1:1.2.11.dfsg-2+deb11u2"))
    assert same_rule(pkgs(dsa["CVE-2021-44228"], "debian:11", "apache-log4j2")[0], below("2.15.0-1~deb11u1"))
    assert same_rule(pkgs(dla["CVE-2021-44228"], "debian:9", "apache-log4j2")[0], below("2.7-2+deb9u1"))  # DLA-2852-1
    # Debian data stops at bullseye (2023-04): no bookworm (debian:12) entry at all
    assert not any(p.ecosystem == "debian:12" for r in dsa.values() for p in r.affected)


# --------------------------------------------------------------------------------------------------- Ubuntu


def test_ubuntu_excerpt() -> None:
    recs = parse_fixture("ubuntu-oval")
    # USN-6937-1 (OpenSSL, noble): CVE-2024-2511 priority low, fixed 3.0.13-0ubuntu3.2 for every binary
    rec = recs["CVE-2024-2511"]
    names = {p.name for p in rec.affected}
    assert {"openssl", "libssl3t64", "libssl-dev"} <= names
    assert all(same_rule(p, below("3.0.13-0ubuntu3.2", "LOW")) for p in rec.affected)
    assert {p.ecosystem for p in rec.affected} == {"ubuntu:24.04"}
    assert rec.severity == "LOW" and rec.references == ("https://ubuntu.com/security/notices/USN-6937-1",)
    assert rec.description and "(CVE-" not in rec.description
    # single-CVE USN-6673-3 (python-cryptography): the whole advisory text is the CVE's, priority medium
    one = recs["CVE-2024-26130"]
    assert {p.name for p in one.affected} == {"python3-cryptography", "python-cryptography-doc"}
    assert one.severity == "MEDIUM" and "PKCS#12" in one.description


def test_ubuntu_full_files() -> None:
    needs_shared()
    path = ADVISORIES / "ubuntu-oval" / "com.ubuntu.noble.usn.oval.xml.gz"
    noble = {r.id: r for r in FEEDS["ubuntu-oval"].parse(path.name, gzip.decompress(path.read_bytes()))}
    assert 500 <= len(noble) <= 700
    # CVE-2024-6387 (regreSSHion), USN-6859-1: openssh-server fixed in 1:9.6p1-3ubuntu13.3 (epoch kept, "0:" is not)
    ssh = pkgs(noble["CVE-2024-6387"], "ubuntu:24.04", "openssh-server")
    assert ssh and same_rule(ssh[0], below("1:9.6p1-3ubuntu13.3", "HIGH"))
    assert not any(iv.hi and iv.hi.startswith("0:") for r in noble.values() for p in r.affected for iv in p.vulnerable)
    eco = {p.ecosystem for r in parse_real("ubuntu-oval").values() for p in r.affected}
    assert eco == {"ubuntu:23.04", "ubuntu:24.04", "ubuntu:24.10"}


# --------------------------------------------------------------------------------------------------- Rocky, Alma


def test_rocky_excerpt() -> None:
    recs = parse_fixture("rocky-oval")
    # RLSA-2022:7314 (zlib, Moderate): CVE-2022-37434 read from the description bullet; fixed 0:1.2.11-32.el9_0
    zlib = recs["CVE-2022-37434"]
    assert same_rule(pkgs(zlib, "rocky:9", "zlib")[0], below("1.2.11-32.el9_0", "MEDIUM"))
    assert zlib.title.startswith("zlib: ") and zlib.references == ("https://errata.rockylinux.org/RLSA-2022:7314",)
    # RLSA-2022:7288 (openssl, Important): epoch kept from "1:…"
    assert pkgs(recs["CVE-2022-3602"], "rocky:9", "openssl-libs")[0].severity == "HIGH"
    assert all(iv.hi and iv.hi.startswith("1:") for iv in pkgs(recs["CVE-2022-3602"], "rocky:9", "openssl")[0].vulnerable)


def test_rocky_full_file() -> None:
    recs = parse_real("rocky-oval")
    assert 400 <= len(recs) <= 450
    # RLSA-2022:4582 gzip and RLSA-2022:4940 xz both fix CVE-2022-1271 (zgrep/xzgrep): one record, both packages
    rec = recs["CVE-2022-1271"]
    assert same_rule(pkgs(rec, "rocky:9", "gzip")[0], below("1.10-9.el9_0", "HIGH"))
    assert pkgs(rec, "rocky:9", "xz-libs")


def test_alma_excerpt() -> None:
    recs = parse_fixture("almalinux-osv")
    # ALSA-2022:7314 Moderate zlib (AlmaLinux:9) fixed 1.2.11-32.el9_0; ALSA-2022:7288 Important openssl 1:3.0.1-43
    assert same_rule(pkgs(recs["CVE-2022-37434"], "alma:9", "zlib")[0], below("1.2.11-32.el9_0", "MEDIUM"))
    assert same_rule(pkgs(recs["CVE-2022-3602"], "alma:9", "openssl-libs")[0], below("1:3.0.1-43.el9_0", "HIGH"))
    assert recs["CVE-2022-3602"].title == "OpenSSL: X.509 Email Address Buffer Overflow"  # its "* …" bullet
    assert "https://errata.almalinux.org/9/ALSA-2022-7288.html" in recs["CVE-2022-3602"].references


def test_alma_full_file() -> None:
    recs = parse_real("almalinux-osv")
    assert 6400 <= len(recs) <= 6800
    assert {p.ecosystem for r in recs.values() for p in r.affected} == {"alma:8", "alma:9", "alma:10"}
    assert not any(r.id.startswith(("ALBA-", "ALEA-")) for r in recs.values())
    assert same_rule(pkgs(recs["CVE-2022-37434"], "alma:8", "zlib")[0], below("1.2.11-19.el8_6", "MEDIUM"))
    assert pkgs(recs["CVE-2020-14343"], "alma:8", "python38-pyyaml")


# --------------------------------------------------------------------------------------------------- bad input


XML_FEEDS = ("ubuntu-oval", "rocky-oval")


@pytest.mark.parametrize("name", XML_FEEDS)
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "invalid XML"),
        (b"<oval_definitions><definitions>", "invalid XML"),
        (b'{"id": "x"}', "invalid XML"),
        (b"<html><body>not oval</body></html>", "not an OVAL definitions document"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>', "not an OVAL definitions document"),
    ],
)
def test_xml_bad_input_is_feed_error(name: str, payload: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=re.escape(message)):
        list(FEEDS[name].parse("com.ubuntu.noble.usn.oval.xml.gz", payload))


def test_ubuntu_release_must_be_known() -> None:
    doc = b'<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"><definitions/></oval_definitions>'
    with pytest.raises(FeedError, match="which Ubuntu release"):
        list(FEEDS["ubuntu-oval"].parse("something.xml", doc))
    assert list(FEEDS["ubuntu-oval"].parse("com.ubuntu.jammy.usn.oval.xml", doc)) == []


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("alpine-secdb", {"distroversion": "v3.16", "packages": [{"pkg": {"name": "a", "secfixes": {"1-r0": "CVE-1"}}}]}),
        ("alpine-secdb", {"distroversion": "v3.16", "packages": [{"pkg": {"secfixes": {}}}]}),
        ("debian-dsa", {"id": "DSA-1", "fixed": [{"release": 7}]}),
        ("debian-dla", {"fixed": []}),
        ("almalinux-osv", {"id": "ALSA-1", "related": [3], "affected": [{"package": {"ecosystem": "AlmaLinux:9",
                                                                                      "name": "x"}}]}),
    ],
)
def test_wrong_types_raise_feed_error(name: str, line: dict[str, object]) -> None:
    with pytest.raises(FeedError, match=r"input\.json:1"):
        list(FEEDS[name].parse("input.json", json.dumps(line).encode()))


def _mutations(xml: str) -> st.SearchStrategy[str]:
    """The real fixture XML with one element deleted, or one attribute / text replaced."""
    import xml.etree.ElementTree as ET

    def mutate(choice: tuple[int, int, str]) -> str:
        root = ET.fromstring(xml)
        elems = list(root.iter())
        idx, kind, value = choice
        target = elems[idx % len(elems)]
        if kind == 0:
            for parent in elems:
                if target in list(parent):
                    parent.remove(target)
                    break
        elif kind == 1 and target.attrib:
            key = sorted(target.attrib)[idx % len(target.attrib)]
            target.set(key, value)
        else:
            target.text = value
        return ET.tostring(root, encoding="unicode")

    return st.tuples(st.integers(0, 10_000), st.integers(0, 2), st.sampled_from(
        ["", "0", "0:", "less than", "x", "CVE-2024-1", "Important", "oval:x:tst:1", "\u00e9", "1:"]
    )).map(mutate)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", XML_FEEDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_oval(name: str, data: st.DataObject) -> None:
    rel = OS_FEED_FILES[name][0]
    doc = data.draw(_mutations(fixture_payload(rel).decode()))
    try:
        recs = list(FEEDS[name].parse(Path(rel).name, doc.encode()))
    except FeedError:
        return
    assert all(isinstance(r, AdvisoryRecord) and r.affected for r in recs)


# --------------------------------------------------------------------------------------------------- EOL data


def test_os_eol_data() -> None:
    rows = os_eol_rows()
    by = {(f, r): d for f, r, d in rows}
    assert {f for f, _, _ in rows} == set(OS_FAMILIES)
    assert by[("debian", "12")] == "2028-06-30" and by[("debian", "7")] == "2018-05-31"
    assert by[("ubuntu", "24.04")] == "2029-05-31" and by[("ubuntu", "14.04")] == "2019-04-25"
    assert by[("alpine", "3.16")] == "2024-05-23" and by[("alpine", "3.22")] == "2027-05-01"
    assert by[("redhat", "9")] == "2032-05-31" and by[("alma", "8")] == "2029-03-01"
    assert {r for f, r, _ in rows if f == "debian"} == {str(v) for v in range(7, 14)}
    assert len({r for f, r, _ in rows if f == "alpine"}) == 13  # 3.10 … 3.22
    ubuntu = {r for f, r, _ in rows if f == "ubuntu"}
    assert "14.04" in ubuntu and "25.04" in ubuntu and len(ubuntu) == 23


def test_eol_dates_match_distro_info_where_installed() -> None:
    """Cross-check against the system's distro-info-data, the cited source (present on Debian-based CI images)."""
    csv = Path("/usr/share/distro-info")
    if not (csv / "ubuntu.csv").is_file():
        pytest.skip("distro-info-data not installed")
    by = {(f, r): d for f, r, d in os_eol_rows()}
    for line in (csv / "ubuntu.csv").read_text().splitlines()[1:]:
        cols = line.split(",")
        version = cols[0].split()[0]
        if ("ubuntu", version) in by:
            assert by[("ubuntu", version)] == cols[5], version
    for line in (csv / "debian.csv").read_text().splitlines()[1:]:
        cols = line.split(",")
        if ("debian", cols[0]) in by:
            assert by[("debian", cols[0])] == cols[6], cols[0]  # eol-lts


# --------------------------------------------------------------------------------------------------- the real DB


@pytest.fixture(scope="module")
def real_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    needs_shared()
    out = tmp_path_factory.mktemp("osdb")
    # a private cache dir: with the default one, a parsed-feed cache left by any earlier build makes the feeds
    # report "ok (cached)" instead of being parsed here
    p = run("db", "build", "--feeds", str(ADVISORIES), "-o", str(out), "--cache-dir", str(out / "cache"),
            timeout=180)
    assert p.returncode == 0, p.stderr
    return p.stdout + p.stderr, out / "vigil.db"


@pytest.mark.parametrize(
    ("feed", "lo", "hi"),
    [
        ("alpine-secdb", 9500, 10500),
        ("debian-dsa", 14000, 15500),
        ("debian-dla", 8500, 9500),
        ("ubuntu-oval", 1250, 1400),
        ("rocky-oval", 400, 450),
        ("almalinux-osv", 6400, 6800),
    ],
)
def test_db_build_reports_os_feeds(real_build: tuple[str, Path], feed: str, lo: int, hi: int) -> None:
    output, db = real_build
    m = re.search(rf"^\s*{re.escape(feed)}\s+(\d+) records\s+\S+\s+ok\s*$", output, re.MULTILINE)
    assert m, output
    assert lo <= int(m.group(1)) <= hi
    st_ = Store(db)
    rec = {f["name"]: f for f in st_.feeds()}[feed]
    assert rec["status"] == "ok" and rec["records"] == int(m.group(1))


def test_real_db_has_os_advisories_and_eol(real_build: tuple[str, Path]) -> None:
    _, db = real_build
    st_ = Store(db)
    assert st_.metadata.schema_version == 2
    assert st_.eol_date("alpine", "3.16") == "2024-05-23" and st_.eol_date("debian", "99") is None
    assert st_.has_ecosystem("alpine:3.15") and st_.has_ecosystem("alma:10") and not st_.has_ecosystem("debian:12")
    rows = {r.vuln_id: r for r in st_.advisories("alpine:3.15", "openssl")}
    assert rows["CVE-2022-0778"].affected.vulnerable == (Interval(hi="1.1.1n-r0"),)
    detail = st_.detail("CVE-2022-0778")
    assert detail is not None and {"alpine-secdb", "debian-dsa", "almalinux-osv", "nvd"} <= set(detail.sources)
    con = sqlite3.connect(db)
    families = {row[0].split(":")[0] for row in con.execute("SELECT DISTINCT ecosystem FROM advisories")}
    con.close()
    assert {"alpine", "debian", "ubuntu", "rocky", "alma"} <= families


def test_builder_works_without_os_feeds(tmp_path: Path) -> None:
    """Only the language feeds present: every OS feed is "missing" (not failed) and the EOL table is still there."""
    from tests.conftest import write_feeds
    from vigil.vulndb.build.builder import build

    feeds = write_feeds(tmp_path / "feeds")
    for d in ("alpine-secdb", "debian", "ubuntu-oval", "rocky-oval", "almalinux"):
        for f in (feeds / d).iterdir():
            f.unlink()
        (feeds / d).rmdir()
    res = build(feeds, tmp_path / "out")
    status = {f.name: f.status for f in res.feeds}
    assert {status[n] for n in OS_FEED_FILES} == {"missing"}
    assert status["pypa"] == "ok" and res.counts["os_eol"] == len(os_eol_rows())
    assert Store(res.db_path).eol_date("ubuntu", "22.04") == "2027-06-01"
