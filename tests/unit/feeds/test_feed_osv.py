"""OSV feeds (pypa, go-vulndb, ghsa): the real files, plus synthetic documents for the event/range rules."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from vigil.vulndb.build.feeds.common import Skips
from vigil.vulndb.build.feeds.osv import FEED_ALMA, FEED_GHSA, FEED_GO, FEED_PYPA, FEEDS, osv_to_record
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

Advisories = Callable[[str], dict[str, AdvisoryRecord]]


def by_alias(recs: dict[str, AdvisoryRecord], alias: str) -> list[AdvisoryRecord]:
    return [r for r in recs.values() if alias in r.aliases or r.id == alias]


def test_feeds_declared() -> None:
    assert FEEDS == (FEED_PYPA, FEED_GO, FEED_GHSA, FEED_ALMA)
    assert FEED_PYPA.name == "pypa" and FEED_PYPA.paths == ("pypa/*.jsonl.gz",)
    assert FEED_GO.name == "go-vulndb" and FEED_GO.paths == ("go-vulndb/go-vulndb-osv.jsonl.gz",)
    assert FEED_GHSA.name == "ghsa" and FEED_GHSA.paths == ("ghsa-subset/*.jsonl.gz",)
    assert {f.kind for f in FEEDS} == {"advisories"}


# --------------------------------------------------------------------------------------------------- real data


def test_pypa_pyyaml_cve_2020_14343(advisories: Advisories) -> None:
    recs = by_alias(advisories("pypa"), "CVE-2020-14343")
    assert [r.id for r in recs] == ["PYSEC-2021-142"]
    rec = recs[0]
    assert rec.source == "pypa"
    assert rec.aliases == ("CVE-2020-14343", "GHSA-8q59-q68h-6hv4")
    assert rec.affected == (
        AffectedPackage(ecosystem="pypi", name="pyyaml", vulnerable=(Interval(hi="5.4"),), fixed=("5.4",)),
    )
    assert "full_load" in rec.description
    assert rec.published == "2021-02-09T21:15:00Z"
    assert "https://bugzilla.redhat.com/show_bug.cgi?id=1860466" in rec.references


def test_pypa_multiple_ranges_and_git_ignored(advisories: Advisories) -> None:
    rec = advisories("pypa")[
        "PYSEC-2021-335"
    ]  # AccessControl: a GIT range + an ECOSYSTEM range with 2 intervals
    (pkg,) = rec.affected
    assert pkg.name == "accesscontrol"
    assert pkg.vulnerable == (Interval(lo="4.0", hi="4.3"), Interval(lo="5.0", hi="5.2"))
    assert pkg.fixed == ("4.3", "5.2")


def test_pypa_versions_only_when_no_range(advisories: Advisories) -> None:
    (pkg,) = advisories("pypa")["PYSEC-2024-1"].affected  # no ranges, versions: ["0.5"]
    assert pkg.vulnerable == (Interval(lo="0.5", hi="0.5", hi_incl=True),)


def test_pypa_last_affected_is_inclusive(advisories: Advisories) -> None:
    recs = [r for r in advisories("pypa").values() if r.affected[0].name == "py" and r.affected[0].vulnerable]
    incl = [iv for r in recs for iv in r.affected[0].vulnerable if iv.hi == "1.11.0"]
    assert incl == [Interval(hi="1.11.0", hi_incl=True)]


def test_pypa_withdrawn_skipped_and_severity_from_cvss(advisories: Advisories) -> None:
    recs = advisories("pypa")
    assert "PYSEC-2022-15" not in recs  # withdrawn upstream
    with_cvss = [r for r in recs.values() if r.cvss is not None]
    assert len(with_cvss) > 150
    for r in with_cvss:
        assert r.cvss is not None and r.cvss.v3_vector.startswith("CVSS:3") and r.cvss.v3_score > 0
        assert r.severity in ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def test_go_vulndb_x_net_with_v_prefix(advisories: Advisories) -> None:
    (rec,) = by_alias(advisories("go-vulndb"), "CVE-2022-41723")
    assert rec.id == "GO-2023-1571"
    pkgs = {p.name: p for p in rec.affected}
    assert pkgs["golang.org/x/net"] == AffectedPackage(
        ecosystem="go", name="golang.org/x/net", vulnerable=(Interval(hi="v0.7.0"),), fixed=("v0.7.0",)
    )
    assert pkgs["stdlib"].vulnerable == (Interval(hi="v1.19.6"), Interval(lo="v1.20.0-0", hi="v1.20.1"))
    assert pkgs["stdlib"].fixed == ("v1.19.6", "v1.20.1")


def test_go_vulndb_stdlib_and_placeholder_dates(advisories: Advisories) -> None:
    rec = advisories("go-vulndb")["GO-2021-0067"]
    assert rec.affected == (
        AffectedPackage(
            ecosystem="go",
            name="stdlib",
            vulnerable=(Interval(lo="v1.16.0-0", hi="v1.16.1"),),
            fixed=("v1.16.1",),
        ),
    )
    assert rec.title == "Panic when opening archives in archive/zip"
    assert rec.published == "2021-04-14T20:04:52Z"
    assert rec.modified == ""  # 0001-01-01 placeholder dropped


def test_go_vulndb_every_bound_has_v(advisories: Advisories) -> None:
    recs = advisories("go-vulndb")
    stdlib = 0
    for rec in recs.values():
        for pkg in rec.affected:
            assert pkg.ecosystem == "go"
            stdlib += pkg.name in ("stdlib", "toolchain")
            for iv in pkg.vulnerable:
                for bound in (iv.lo, iv.hi):
                    assert bound is None or bound.startswith("v"), (rec.id, bound)
            assert all(f.startswith("v") for f in pkg.fixed)
    assert stdlib >= 190


def test_go_vulndb_http2_rapid_reset_related_is_not_alias(advisories: Advisories) -> None:
    recs = advisories("go-vulndb")
    # go-vulndb lists CVE-2023-44487 under `related` of GO-2023-2102 (whose own CVE is CVE-2023-39325)
    assert by_alias(recs, "CVE-2023-44487") == []
    rec = recs["GO-2023-2102"]
    assert rec.aliases == ("CVE-2023-39325", "GHSA-4374-p667-p6c8")
    assert {"golang.org/x/net", "stdlib"} <= {p.name for p in rec.affected}


def test_ghsa_commons_text(advisories: Advisories) -> None:
    rec = advisories("ghsa")["GHSA-599f-7c49-w659"]
    assert rec.aliases == ("CVE-2022-42889",)
    assert rec.severity == "CRITICAL"
    assert rec.cwe_ids == ("CWE-94",)
    assert rec.cvss is not None and rec.cvss.v3_score == 9.8
    assert rec.title == "Arbitrary code execution in Apache Commons Text"
    pkg = rec.affected[0]
    assert pkg.ecosystem == "maven" and pkg.name == "org.apache.commons:commons-text"
    assert pkg.vulnerable == (Interval(lo="1.5", hi="1.10.0"),)
    assert pkg.fixed == ("1.10.0",)
    # last_affected on the second package; its 190-entry `versions` list is not copied (ranges exist)
    guiced = rec.affected[1]
    assert guiced.vulnerable == (Interval(hi="1.2.2.1-jre17", hi_incl=True),)
    assert guiced.fixed == ()


def test_ghsa_moderate_is_medium_and_ecosystems(advisories: Advisories) -> None:
    recs = advisories("ghsa")
    assert {r.severity for r in recs.values()} <= {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert sum(r.severity == "MEDIUM" for r in recs.values()) >= 100
    ecosystems = {p.ecosystem for r in recs.values() for p in r.affected}
    assert ecosystems == {"maven", "nuget", "go", "rubygems", "pypi", "composer"}  # SwiftURL skipped
    go = [p for r in recs.values() for p in r.affected if p.ecosystem == "go"]
    assert all(iv.hi is None or iv.hi.startswith("v") for p in go for iv in p.vulnerable)
    # `related` is not an alias
    for r in recs.values():
        assert r.id not in r.aliases


# --------------------------------------------------------------------------------------------------- synthetic


def osv(affected: list[dict[str, object]], **extra: object) -> dict[str, object]:
    return {"id": "OSV-TEST-1", "affected": affected, **extra}


def pkg(eco: str = "PyPI", name: str = "demo", **extra: object) -> dict[str, object]:
    return {"package": {"ecosystem": eco, "name": name}, **extra}


def ranges(*events: dict[str, str], rtype: str = "ECOSYSTEM") -> list[dict[str, object]]:
    return [{"type": rtype, "events": list(events)}]


def convert(doc: dict[str, object]) -> AdvisoryRecord | None:
    return osv_to_record(doc, "test")


def test_events_in_order() -> None:
    rec = convert(
        osv(
            [
                pkg(
                    ranges=ranges(
                        {"introduced": "0"},
                        {"fixed": "1.0"},
                        {"introduced": "2.0"},
                        {"last_affected": "2.5"},
                        {"introduced": "3.0"},
                        {"limit": "3.9"},
                        {"introduced": "4.0"},
                    )
                )
            ]
        )
    )
    assert rec is not None
    assert rec.affected[0].vulnerable == (
        Interval(hi="1.0"),
        Interval(lo="2.0", hi="2.5", hi_incl=True),
        Interval(lo="3.0", hi="3.9"),
        Interval(lo="4.0"),
    )
    assert rec.affected[0].fixed == ("1.0",)


def test_introduced_only_means_all_later_versions() -> None:
    rec = convert(osv([pkg(ranges=ranges({"introduced": "0"}, rtype="SEMVER"))]))
    assert rec is not None and rec.affected[0].vulnerable == (Interval(),)


def test_git_only_and_unknown_ecosystem_are_skipped_and_counted() -> None:
    skips = Skips("test", "t")
    doc = osv(
        [
            pkg(ranges=ranges({"introduced": "0"}, {"fixed": "abc"}, rtype="GIT")),
            pkg(eco="Debian:11", name="x", ranges=ranges({"introduced": "0"})),
            pkg(name="ok", ranges=ranges({"introduced": "1"})),
        ]
    )
    rec = osv_to_record(doc, "test", skips=skips)
    assert rec is not None and [p.name for p in rec.affected] == ["ok"]
    assert sum(skips.counts.values()) == 2
    assert convert(osv([pkg(ranges=ranges({"introduced": "0"}, rtype="GIT"))])) is None


def test_git_only_with_versions_list_uses_versions() -> None:
    rec = convert(osv([pkg(ranges=ranges({"introduced": "0"}, rtype="GIT"), versions=["1.0", "1.1"])]))
    assert rec is not None
    assert rec.affected[0].vulnerable == (
        Interval(lo="1.0", hi="1.0", hi_incl=True),
        Interval(lo="1.1", hi="1.1", hi_incl=True),
    )


def test_withdrawn_skipped() -> None:
    assert convert(osv([pkg(ranges=ranges({"introduced": "0"}))], withdrawn="2024-01-01T00:00:00Z")) is None


def test_ecosystem_map_and_go_prefix() -> None:
    doc = osv(
        [
            pkg(eco=eco, name="n", ranges=ranges({"introduced": "1.0.0"}, {"fixed": "1.2.0"}))
            for eco in (
                "PyPI",
                "Go",
                "npm",
                "crates.io",
                "RubyGems",
                "Packagist",
                "Maven",
                "NuGet",
                "Hex",
                "Pub",
            )
        ]
    )
    rec = convert(doc)
    assert rec is not None
    assert [p.ecosystem for p in rec.affected] == [
        "pypi",
        "go",
        "npm",
        "cargo",
        "rubygems",
        "composer",
        "maven",
        "nuget",
        "hex",
        "pub",
    ]
    go = rec.affected[1]
    assert go.vulnerable == (Interval(lo="v1.0.0", hi="v1.2.0"),) and go.fixed == ("v1.2.0",)


def test_severity_cvss_aliases_refs() -> None:
    rec = convert(
        osv(
            [pkg(ranges=ranges({"introduced": "0"}))],
            aliases=["CVE-2099-0001", "OSV-TEST-1", "CVE-2099-0001"],
            related=["CVE-2099-0002"],
            summary=" s ",
            details="d",
            severity=[
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"},
                {
                    "type": "CVSS_V4",
                    "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                },
            ],
            references=[{"type": "WEB", "url": "https://a"}, {"type": "FIX", "url": "https://a"}],
            database_specific={"severity": "MODERATE", "cwe_ids": ["CWE-79"]},
        )
    )
    assert rec is not None
    assert rec.aliases == ("CVE-2099-0001",)
    assert rec.title == "s" and rec.description == "d"
    assert rec.severity == "MEDIUM"
    assert rec.cvss is not None and rec.cvss.v3_score == 5.4 and rec.cvss.v40_vector.startswith("CVSS:4.0/")
    assert rec.references == ("https://a",)
    assert rec.cwe_ids == ("CWE-79",)
    # without database_specific.severity, the rating follows the CVSS v3 score
    rec2 = convert(
        osv(
            [pkg(ranges=ranges({"introduced": "0"}))],
            severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        )
    )
    assert rec2 is not None and rec2.severity == "CRITICAL"


def test_record_roundtrips_through_msgspec(advisories: Advisories) -> None:
    rec = advisories("ghsa")["GHSA-599f-7c49-w659"]
    assert msgspec.json.decode(msgspec.json.encode(rec), type=AdvisoryRecord) == rec
