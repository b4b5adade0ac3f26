"""Remediation summary: the smallest upgrade per package that fixes all its fixable findings, compared with the
ecosystem's version scheme (not as strings)."""

from __future__ import annotations

from vigil.detectors.remediation import annotate, ecosystem_of, for_result, smallest_fix
from vigil.detectors.versions import scheme_for
from vigil.findings.records import Report, Result, Vulnerability


def _v(vid: str, name: str, installed: str, fixed: str, purl: str) -> Vulnerability:
    return Vulnerability(vulnerability_id=vid, pkg_id=f"{name}@{installed}", pkg_name=name, purl=purl,
                         installed_version=installed, fixed_version=fixed,
                         status="fixed" if fixed else "affected", severity="HIGH")


def test_max_of_fixes_uses_the_version_scheme() -> None:
    purl = "pkg:npm/lodash@4.17.9"
    res = Result(target="package-lock.json", class_="lang-pkgs", type="npm", vulnerabilities=(
        _v("CVE-1", "lodash", "4.17.9", "4.17.10", purl),
        _v("CVE-2", "lodash", "4.17.9", "4.17.21", purl),
        _v("CVE-3", "lodash", "4.17.9", "4.17.12", purl),
    ))
    (r,) = for_result(res)
    assert r.upgrade_to == "4.17.21"  # a string max would pick 4.17.12 ... and 4.17.9 > 4.17.10
    assert r.fixes == ("CVE-1", "CVE-2", "CVE-3") and r.unfixed == ()


def test_comma_separated_fixes_pick_the_branch_above_installed() -> None:
    scheme = scheme_for("pypi")
    assert smallest_fix(scheme, "2.2.0", "1.11.27, 2.2.9, 3.0.1") == "2.2.9"
    assert smallest_fix(scheme, "3.0.0", "1.11.27, 2.2.9, 3.0.1") == "3.0.1"
    assert smallest_fix(scheme, "3.0.1", "2.2.9") == ""
    assert smallest_fix(scheme, "1.0", "not a version, 1.2") == "1.2"


def test_unfixed_and_summary_counts() -> None:
    res = Result(target="requirements.txt", class_="lang-pkgs", type="pip", vulnerabilities=(
        _v("CVE-1", "django", "2.2.0", "2.2.9", "pkg:pypi/django@2.2.0"),
        _v("CVE-2", "django", "2.2.0", "2.2.10", "pkg:pypi/django@2.2.0"),
        _v("CVE-3", "django", "2.2.0", "", "pkg:pypi/django@2.2.0"),
        _v("CVE-4", "pyyaml", "5.3.1", "", "pkg:pypi/pyyaml@5.3.1"),
        _v("CVE-5", "requests", "2.25.0", "2.31.0", "pkg:pypi/requests@2.25.0"),
    ))
    report = annotate(Report(artifact_name="x", artifact_type="filesystem", results=(res,)))
    rems = {r.pkg_name: r for r in report.results[0].remediations}
    assert rems["django"].upgrade_to == "2.2.10" and rems["django"].unfixed == ("CVE-3",)
    assert rems["pyyaml"].upgrade_to == "" and rems["pyyaml"].fixes == ()
    assert report.results[0].remediation_summary() == "upgrading 2 packages removes 3 of 5 findings"


def test_no_vulnerabilities_no_summary() -> None:
    res = Result(target="go.mod", class_="lang-pkgs", type="gomod")
    assert for_result(res) == () and res.remediation_summary() == ""


def test_ecosystem_of_purl() -> None:
    assert ecosystem_of("pkg:golang/golang.org/x/net@v0.7.0") == "go"
    assert ecosystem_of("pkg:gem/rails@7") == "rubygems"
    assert ecosystem_of("pkg:unknown/x@1") == "" and ecosystem_of("") == ""


def test_go_versions_compare_semantically() -> None:
    purl = "pkg:golang/golang.org/x/net@v0.7.0"
    res = Result(target="go.mod", class_="lang-pkgs", type="gomod", vulnerabilities=(
        _v("GO-1", "golang.org/x/net", "v0.7.0", "v0.17.0", purl),
        _v("GO-2", "golang.org/x/net", "v0.7.0", "v0.9.0", purl),
    ))
    assert for_result(res)[0].upgrade_to == "v0.17.0"
