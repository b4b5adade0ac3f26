"""The remediation plan a publish keeps per scan: package upgrades merged across the places a package sits, most
CRITICAL findings fixed first, and for an image its base image's OS packages."""

from __future__ import annotations

from vigil.findings.records import Metadata, Remediation, Report, Result, Vulnerability
from vigil.inventory.records import OSInfo
from vigil.store.extract import remediation_plan


def vuln(i: str, pkg: str, sev: str, fixed: str = "") -> Vulnerability:
    return Vulnerability(vulnerability_id=i, pkg_name=pkg, installed_version="1.0", fixed_version=fixed,
                         status="fixed" if fixed else "affected", severity=sev)  # type: ignore[arg-type]


def test_upgrades_are_merged_and_ranked_and_the_base_image_counted() -> None:
    lodash = [vuln("CVE-1", "lodash", "HIGH", "4.17.21"), vuln("CVE-2", "lodash", "MEDIUM", "4.17.21")]
    up = Remediation(pkg_name="lodash", installed_version="1.0", upgrade_to="4.17.21", fixes=("CVE-1", "CVE-2"))
    results = (
        Result(target="package-lock.json", class_="lang-pkgs", vulnerabilities=tuple(lodash), remediations=(up,)),
        Result(target="node_modules/lodash/package.json", class_="lang-pkgs", vulnerabilities=tuple(lodash),
               remediations=(up,)),
        Result(target="requirements.txt", class_="lang-pkgs",
               vulnerabilities=(vuln("CVE-3", "django", "CRITICAL", "4.2.1"), vuln("CVE-4", "django", "LOW")),
               remediations=(Remediation(pkg_name="django", installed_version="1.0", upgrade_to="4.2.1",
                                         fixes=("CVE-3",), unfixed=("CVE-4",)),
                             Remediation(pkg_name="nofix", installed_version="1.0", unfixed=("CVE-9",)))),
        Result(target="img (debian 9)", class_="os-pkgs", type="debian",
               vulnerabilities=(vuln("CVE-5", "openssl", "CRITICAL", "1.1.1w"), vuln("CVE-6", "zlib", "HIGH"))),
    )
    report = Report(artifact_name="img", artifact_type="container_image", results=results,
                    metadata=Metadata(os=OSInfo(family="debian", name="9", eosl=True)))
    plan = remediation_plan(report, 7)
    assert [(u.pkg_name, u.upgrade_to, u.fixes, u.critical, u.high) for u in plan.packages] == [
        ("django", "4.2.1", 1, 1, 0), ("lodash", "4.17.21", 4, 0, 2)]
    assert (plan.scan_id, plan.n_packages, plan.fixes, plan.critical) == (7, 2, 5, 1)
    base = plan.base_image
    assert base is not None and (base.os, base.eosl, base.fixable, base.critical, base.total) == (
        "debian 9", True, 1, 1, 2)
    # not an image: no base image advice
    assert remediation_plan(Report(artifact_name="repo", artifact_type="filesystem", results=results), 1
                            ).base_image is None
