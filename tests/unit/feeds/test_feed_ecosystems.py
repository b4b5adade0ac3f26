"""Ecosystem advisory feeds on the real data: rustsec, ruby-advisory-db, FriendsOfPHP, nodejs-security-wg,
retire.js, victims, elixir — plus small synthetic inputs for the rules each module documents."""

from __future__ import annotations

import json
from collections.abc import Callable

from vigil.vulndb.build.feeds import (
    elixir,
    friendsofphp,
    nodejs_security_wg,
    retirejs,
    rubysec,
    rustsec,
    victims,
)
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

Advisories = Callable[[str], dict[str, AdvisoryRecord]]


def jsonl(*docs: object) -> bytes:
    return "\n".join(json.dumps(d) for d in docs).encode()


# --------------------------------------------------------------------------------------------------- rustsec


def test_rustsec_abi_stable(advisories: Advisories) -> None:
    rec = advisories("rustsec")["RUSTSEC-2020-0105"]
    assert rec.affected == (
        AffectedPackage(ecosystem="cargo", name="abi_stable", safe=(Interval(lo="0.9.1"),), fixed=("0.9.1",)),
    )
    assert rec.aliases == ("CVE-2020-36212", "CVE-2020-36213", "GHSA-vq23-5h4f-vwpv", "GHSA-wqxc-qrq4-w5v4")
    assert rec.title == "Update unsound DrainFilter and RString::retain"
    assert rec.description.startswith("Affected versions of this crate")
    assert rec.cvss is not None and rec.cvss.v3_score == 7.5 and rec.severity == "HIGH"
    assert rec.published == "2020-12-21"
    assert rec.references == ("https://github.com/rodrimati1992/abi_stable_crates/issues/44",)


def test_rustsec_openssl_src_branches(advisories: Advisories) -> None:
    (rec,) = [r for r in advisories("rustsec").values() if "CVE-2022-0778" in r.aliases]
    (pkg,) = rec.affected
    assert pkg.name == "openssl-src" and pkg.vulnerable == ()
    assert pkg.safe == (Interval(lo="111.18.0", hi="300.0.0"), Interval(lo="300.0.5"))
    assert pkg.fixed == ("111.18.0", "300.0.5")


def test_rustsec_skips(advisories: Advisories) -> None:
    recs = advisories("rustsec")
    assert not any(r.id.startswith("CVE-") for r in recs.values())  # rust/ toolchain records skipped
    assert all(p.ecosystem == "cargo" for r in recs.values() for p in r.affected)


def test_rustsec_informational_rules() -> None:
    def doc(i: int, informational: str | None) -> dict[str, object]:
        adv: dict[str, object] = {"id": f"RUSTSEC-2099-000{i}", "package": "demo", "date": "2099-01-01"}
        if informational:
            adv["informational"] = informational
        return {
            "advisory": adv,
            "versions": {"patched": [">= 1.0.0"], "unaffected": ["< 0.2"]},
            "_markdown": "# Title\n\nBody",
            "_source_path": f"crates/demo/RUSTSEC-2099-000{i}.md",
        }

    data = jsonl(doc(1, None), doc(2, "unsound"), doc(3, "unmaintained"), doc(4, "notice"))
    recs = list(rustsec.parse("x.jsonl", data))
    assert [r.id for r in recs] == ["RUSTSEC-2099-0001", "RUSTSEC-2099-0002"]
    assert recs[0].affected[0].safe == (Interval(lo="1.0.0"), Interval(hi="0.2.0"))
    assert recs[0].affected[0].fixed == ("1.0.0",)  # unaffected bounds are not fixes


# --------------------------------------------------------------------------------------------------- rubysec


def test_rubysec_nokogiri(advisories: Advisories) -> None:
    rec = advisories("ruby-advisory-db")["CVE-2013-6460"]
    assert rec.affected == (
        AffectedPackage(
            ecosystem="rubygems",
            name="nokogiri",
            safe=(Interval(lo="1.5.11", hi="1.6"), Interval(lo="1.6.1")),
            fixed=("1.5.11", "1.6.1"),
        ),
    )
    assert rec.aliases == ("GHSA-62qp-3fxm-9wxf",)
    assert rec.cvss is not None and rec.cvss.v3_score == 6.5 and rec.cvss.v2_score == 4.3
    assert rec.severity == "MEDIUM"  # from the v3 score
    assert rec.published == "2013-12-14"


def test_rubysec_rails_pessimistic_and(advisories: Advisories) -> None:
    rec = advisories("ruby-advisory-db")["CVE-2019-5418"]
    (pkg,) = rec.affected
    assert pkg.name == "actionview"
    assert pkg.safe[0] == Interval(lo="4.2.11.1", hi="4.3")  # "~> 4.2.11, >= 4.2.11.1"
    assert pkg.safe[-1] == Interval(lo="6.0.0.beta3")


def test_rubysec_ids_and_engines(advisories: Advisories) -> None:
    recs = advisories("ruby-advisory-db")
    assert all(r.id.startswith(("CVE-", "GHSA-", "OSVDB-")) for r in recs.values())
    assert all(p.ecosystem == "rubygems" for r in recs.values() for p in r.affected)
    names = {p.name for r in recs.values() for p in r.affected}
    assert "ruby" not in names and "jruby" not in names
    # OSVDB-62067 names two gems (bcrypt, bcrypt-ruby): one advisory, two packages
    assert {p.name for p in recs["OSVDB-62067"].affected} == {"bcrypt", "bcrypt-ruby"}
    # lodash-rails vendors lodash
    assert any(p.name == "lodash-rails" for p in recs["CVE-2021-23337"].affected)


def test_rubysec_id_preference() -> None:
    base = {"gem": "g", "title": "t", "date": "2099-01-01", "_source_path": "gems/g/x.yml"}
    data = jsonl(
        {**base, "cve": "2099-1", "ghsa": "aaaa-bbbb-cccc", "osvdb": 1, "patched_versions": [">= 1"]},
        {**base, "ghsa": "dddd-eeee-ffff", "cvss_v2": 7.5},
        {**base, "osvdb": 99},
        {**base, "engine": "ruby", "gem": None, "cve": "2099-2", "_source_path": "rubies/ruby/x.yml"},
    )
    recs = list(rubysec.parse("x.jsonl", data))
    assert [(r.id, r.aliases) for r in recs] == [
        ("CVE-2099-1", ("GHSA-aaaa-bbbb-cccc",)),
        ("GHSA-dddd-eeee-ffff", ()),
        ("OSVDB-99", ()),
    ]
    assert recs[1].severity == "HIGH" and recs[1].affected[0].safe == ()


# --------------------------------------------------------------------------------------------------- FriendsOfPHP


def test_friendsofphp_symfony_branches(advisories: Advisories) -> None:
    rec = advisories("php-security-advisories")["CVE-2019-10912"]
    pkgs = {p.name: p for p in rec.affected}
    assert {"symfony/symfony", "symfony/cache", "symfony/phpunit-bridge"} <= set(pkgs)
    cache = pkgs["symfony/cache"]
    assert cache.vulnerable == (
        Interval(lo="3.1.0", hi="3.2.0"),
        Interval(lo="3.2.0", hi="3.3.0"),
        Interval(lo="3.3.0", hi="3.4.0"),
        Interval(lo="3.4.0", hi="3.4.26"),
        Interval(lo="4.0.0", hi="4.1.0"),
        Interval(lo="4.1.0", hi="4.1.12"),
        Interval(lo="4.2.0", hi="4.2.7"),
    )
    # branch boundaries (<3.2.0 = start of the 3.2.x branch) are not fixes
    assert cache.fixed == ("3.4.26", "4.1.12", "4.2.7")
    assert rec.title.startswith("CVE-2019-10912")
    assert rec.references[0] == "https://symfony.com/cve-2019-10912"


def test_friendsofphp_synthetic_id(advisories: Advisories) -> None:
    recs = advisories("php-security-advisories")
    rec = recs["PHPSEC-3f/pygmentize/2017-05-15"]
    assert rec.affected == (
        AffectedPackage(
            ecosystem="composer", name="3f/pygmentize", vulnerable=(Interval(hi="1.2"),), fixed=("1.2",)
        ),
    )
    assert rec.published == "2017-05-15T09:09:00Z"
    assert sum(len(r.affected) for r in recs.values()) == 1592  # every upstream file is one package entry


def test_friendsofphp_parse_rules() -> None:
    data = jsonl(
        {
            "title": "t",
            "link": "https://x",
            "cve": None,
            "reference": "composer://vendor/pkg",
            "branches": {
                "1.x": {"time": None, "versions": [">=1.0", "<1.5"]},
                "2.x": {"versions": ["<=2.1"]},
            },
            "_source_path": "vendor/pkg/2099-01-01.yaml",
        }
    )
    (rec,) = friendsofphp.parse("x.jsonl", data)
    assert rec.id == "PHPSEC-vendor/pkg/2099-01-01"
    assert rec.affected[0].vulnerable == (Interval(lo="1.0", hi="1.5"), Interval(hi="2.1", hi_incl=True))
    assert rec.affected[0].fixed == ("1.5",)


# --------------------------------------------------------------------------------------------------- nodejs-security-wg


def test_nodejs_lodash(advisories: Advisories) -> None:
    recs = advisories("nodejs-security-wg")
    rec = recs["CVE-2018-3721"]
    assert rec.aliases == ("NSWG-ECO-368",)
    assert rec.affected == (
        AffectedPackage(
            ecosystem="npm",
            name="lodash",
            vulnerable=(Interval(hi="4.17.5"),),
            safe=(Interval(lo="4.17.5"),),
            fixed=("4.17.5",),
        ),
    )
    assert rec.cvss is not None and rec.cvss.v3_vector.startswith("CVSS:3.0/") and rec.cvss.v3_score == 2.5
    assert rec.severity == "LOW"
    assert rec.title == "lodash prototype pollution"
    assert recs["CVE-2018-16487"].affected[0].vulnerable == (Interval(hi="4.17.11"),)


def test_nodejs_npm_only_and_ids(advisories: Advisories) -> None:
    recs = advisories("nodejs-security-wg")
    assert all(p.ecosystem == "npm" for r in recs.values() for p in r.affected)
    assert all(r.id.startswith(("CVE-", "NSWG-ECO-")) for r in recs.values())
    assert sum(r.id.startswith("NSWG-ECO-") for r in recs.values()) >= 290


def test_nodejs_complex_ranges() -> None:
    doc = {
        "id": 1,
        "module_name": "m",
        "cves": [],
        "vulnerable_versions": "<1.6.5 || < 2.1.7 > 2.0.0",
        "patched_versions": ">=1.6.5 <2.0.0 || >= 2.1.7",
        "publish_date": "1970-01-01",
        "created_at": "2016-01-02",
        "_source_path": "vuln/npm/1.json",
    }
    core = {"cve": ["CVE-2099-1"], "vulnerable": "<1", "_source_path": "vuln/core/1.json"}
    (rec,) = nodejs_security_wg.parse("x.jsonl", jsonl(doc, core))
    assert rec.id == "NSWG-ECO-1" and rec.published == "2016-01-02"
    pkg = rec.affected[0]
    assert pkg.vulnerable == (Interval(hi="1.6.5"), Interval(lo="2.0.0", lo_incl=False, hi="2.1.7"))
    assert pkg.safe == (Interval(lo="1.6.5", hi="2.0.0"), Interval(lo="2.1.7"))
    assert pkg.fixed == ("1.6.5", "2.1.7")


# --------------------------------------------------------------------------------------------------- retire.js


def test_retirejs_lodash_from_library_repository(advisories: Advisories) -> None:
    recs = advisories("retire.js-jslibs")
    rec = recs["CVE-2020-8203"]
    assert rec.aliases == ("GHSA-p6mc-m468-83gw",)
    assert rec.affected == (
        AffectedPackage(
            ecosystem="npm",
            name="lodash",
            vulnerable=(Interval(lo="3.7.0", hi="4.17.19"),),
            fixed=("4.17.19",),
        ),
    )
    assert rec.severity == "HIGH"
    assert "CWE-1321" in rec.cwe_ids
    assert recs["CVE-2019-10744"].aliases == ("GHSA-jf85-cpcp-j695",)
    # two GHSAs both list "CVE-2021-23337, CVE-2026-4800": two advisories keyed by GHSA, each with its own range
    # (merged by the first CVE they made CVE-2021-23337 cover <4.18.0); the builder decides which CVE each is about
    assert "CVE-2021-23337" not in recs
    rec = recs["GHSA-35jh-r3h4-6jhm"]
    assert rec.aliases == ("CVE-2021-23337", "CVE-2026-4800")
    assert rec.affected[0].vulnerable == (Interval(hi="4.17.21"),) and rec.affected[0].fixed == ("4.17.21",)
    rec = recs["GHSA-r5fr-rjxr-66jc"]
    assert rec.aliases == ("CVE-2021-23337", "CVE-2026-4800")
    assert rec.affected[0].vulnerable == (Interval(lo="4.0.0", hi="4.18.0"),) and rec.affected[0].fixed == ("4.18.0",)


def test_retirejs_library_names(advisories: Advisories) -> None:
    names = {p.name for r in advisories("retire.js-jslibs").values() for p in r.affected}
    assert {"lodash", "jquery", "moment", "angular", "dompurify", "next", "highlight.js", "axios"} <= names
    assert not names & {"moment.js", "angularjs", "ExtJS", "retire-example", "dont check"}


def test_retirejs_npm_repository(advisories: Advisories) -> None:
    recs = advisories("retire.js")
    lodash = [r for r in recs.values() if r.affected[0].name == "lodash"]
    # lodash's three npmrepository entries carry no CVE/GHSA/NSWG identifier: skipped, not given synthetic IDs
    assert lodash == []
    ws = [r for r in recs.values() if r.affected[0].name == "ws" and "NSWG-ECO-120" in (r.id, *r.aliases)]
    assert len(ws) == 1  # nodesecurity.io/advisories/120 -> alias of the nodejs-security-wg record


def test_retirejs_parse_rules() -> None:
    data = json.dumps(
        {
            "pkg": {
                "vulnerabilities": [
                    {
                        "atOrAbove": "0",
                        "below": "1.0",
                        "severity": "moderate",
                        "identifiers": {"summary": "s"},
                    },
                    {
                        "below": "2.0",
                        "severity": "critical",
                        "identifiers": {"CVE": ["CVE-2099-1", "CVE-2099-2"]},
                    },
                    {"below": "3.0", "identifiers": {"CVE": ["CVE-2099-1"]}},
                ]
            }
        }
    ).encode()
    recs = {r.id: r for r in retirejs.parse("npmrepository.json", data)}
    assert set(recs) == {"CVE-2099-1"}  # the entry without any identifier is skipped
    merged = recs["CVE-2099-1"]
    assert merged.aliases == ("CVE-2099-2",)
    # the merged entries disagree on severity: the advisory takes the highest, each package keeps its own
    assert merged.severity == "CRITICAL"
    assert [(p.vulnerable, p.severity) for p in merged.affected] == [
        ((Interval(hi="2.0"),), "CRITICAL"),
        ((Interval(hi="3.0"),), ""),
    ]
    # entries that agree fold into one package entry with the union of their ranges
    data2 = json.dumps(
        {
            "p": {
                "vulnerabilities": [{"below": "1", "identifiers": {"githubID": "GHSA-x"}}] * 2
                + [{"below": "2"}]
            }
        }
    ).encode()
    recs2 = {r.id: r for r in retirejs.parse("npmrepository.json", data2)}
    assert recs2["GHSA-x"].affected == (
        AffectedPackage(ecosystem="npm", name="p", vulnerable=(Interval(hi="1"),), fixed=("1",)),
    )


# --------------------------------------------------------------------------------------------------- victims


def test_victims_commons_collections(advisories: Advisories) -> None:
    rec = advisories("victims")["CVE-2015-7501"]
    assert rec.affected == (
        AffectedPackage(
            ecosystem="maven",
            name="commons-collections:commons-collections",
            vulnerable=(Interval(lo="3", hi="3.2.1", hi_incl=True),),
            safe=(Interval(lo="3.2.2"),),
            fixed=("3.2.2",),
        ),
        AffectedPackage(
            ecosystem="maven",
            name="org.apache.commons:commons-collections4",
            vulnerable=(Interval(lo="4.0", hi="4.0", hi_incl=True),),
            safe=(Interval(lo="4.1"),),
            fixed=("4.1",),
        ),
    )
    assert rec.cvss is not None and rec.cvss.v2_score == 7.5 and rec.severity == "HIGH"


def test_victims_struts_series(advisories: Advisories) -> None:
    rec = advisories("victims")["CVE-2008-6504"]
    struts = rec.affected[0]
    assert struts.name == "org.apache.struts:struts2-core"
    assert struts.vulnerable == (
        Interval(lo="2.0", hi="2.0.11.2", hi_incl=True),
        Interval(lo="2.1", hi="2.1.2", hi_incl=True),
    )
    assert struts.fixed == ("2.0.12", "2.1.3")
    oak = rec.affected[1]
    assert oak.vulnerable == (Interval(lo="0.5", hi="1"),)  # ">=0.5,0": from 0.5 to the end of series 0


def test_victims_python_part(advisories: Advisories) -> None:
    recs = advisories("victims")
    py = [p for r in recs.values() for p in r.affected if p.ecosystem == "pypi"]
    assert len(py) >= 35
    assert recs["CVE-2010-4340"].affected == (
        AffectedPackage(
            ecosystem="pypi",
            name="apache-libcloud",
            vulnerable=(Interval(hi="0.4.1", hi_incl=True),),
            safe=(Interval(lo="0.4.2"),),
            fixed=("0.4.2",),
        ),
    )
    # fixedin bounds the loose `version` rules: Jinja2 CVE-2014-1402 lists ">=2.1,2" (all of 2.x from 2.1)
    jinja = recs["CVE-2014-1402"].affected[0]
    assert Interval(lo="2.7.2") in jinja.safe


def test_victims_rule_interval() -> None:
    assert victims.rule_interval("<=2.0.11.2,2.0") == Interval(lo="2.0", hi="2.0.11.2", hi_incl=True)
    assert victims.rule_interval("<2.0.11,2.0") == Interval(lo="2.0", hi="2.0.11")
    assert victims.rule_interval(">=2.3.2.Final,2") == Interval(lo="2.3.2.Final", hi="3")
    assert victims.rule_interval(">=1.2.1-10.CP02,1.2.1-") == Interval(lo="1.2.1-10.CP02", hi="1.2.2")
    assert victims.rule_interval("==4.0") == Interval(lo="4.0", hi="4.0", hi_incl=True)
    assert victims.rule_interval(">=1.0") == Interval(lo="1.0")
    assert victims.rule_interval("<=1.0") == Interval(hi="1.0", hi_incl=True)
    assert victims.rule_interval("~1.0") is None


# --------------------------------------------------------------------------------------------------- elixir


def test_elixir_coherence_and_ids(advisories: Advisories) -> None:
    recs = advisories("elixir-security-advisories")
    assert len(recs) == 12
    rec = recs["CVE-2018-20301"]
    assert rec.affected == (
        AffectedPackage(ecosystem="hex", name="coherence", safe=(Interval(lo="0.5.2"),), fixed=("0.5.2",)),
    )
    assert rec.aliases == ("ELIXIR-2aae6e3a-24a3-4d5f-86ff-b964eaf7c6d1",)
    assert rec.title == "Permissive parameters and privilege escalation"
    assert rec.published == "2017-08-02"
    ecto = recs["ELIXIR-46aad699-50a3-48d8-a7ac-f248ab96b374"]
    assert ecto.affected[0].safe == (Interval(lo="2.2.0", lo_incl=False), Interval(hi="2.2.0"))
    assert ecto.affected[0].fixed == ()  # "> 2.2.0" names no release
    phoenix = recs["CVE-2017-1000163"].affected[0]
    assert phoenix.safe == (
        Interval(lo="1.3.0-rc.1"),
        Interval(lo="1.2.3", hi="1.3.0"),
        Interval(lo="1.1.7", hi="1.2.0"),
        Interval(lo="1.0.5", hi="1.1.0"),
    )


def test_elixir_unparsable_requirement_skips_package() -> None:
    doc = {"id": "u", "package": "p", "cve": None, "patched_versions": ["~> banana"], "_source_path": "x"}
    assert list(elixir.parse("x.jsonl", jsonl(doc))) == []
