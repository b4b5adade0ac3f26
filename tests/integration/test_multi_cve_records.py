"""A record naming two CVEs never makes them one finding, on the real feeds.

What the data says (../shared/data/advisories): retire.js' lodash entries GHSA-35jh-r3h4-6jhm (<4.17.21, "Command
Injection in lodash") and GHSA-r5fr-rjxr-66jc (>=4.0.0 <4.18.0, "_.template ... options.imports key names") both list
"CVE-2021-23337, CVE-2026-4800". RubySec (lodash-rails) ties GHSA-35jh-r3h4-6jhm to CVE-2021-23337 alone, fixed in
4.17.21, and NVD's record of CVE-2021-23337 says "prior to 4.17.21". No feed ties GHSA-r5fr-rjxr-66jc to a CVE, but
CVE-2021-23337 is GHSA-35jh-r3h4-6jhm's, so GHSA-r5fr-rjxr-66jc is CVE-2026-4800: lodash 4.17.21 is affected by
CVE-2026-4800 (fixed in 4.18.0) and not by CVE-2021-23337.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli_helpers import run

from vigil.vulndb.store import Store

LOCK = {"name": "x", "lockfileVersion": 3, "packages": {"": {"dependencies": {"lodash": "4.17.21"}},
                                                       "node_modules/lodash": {"version": "4.17.21"}}}


def lodash_findings(db: Path, tmp_path: Path, version: str) -> dict[str, dict[str, Any]]:
    app = tmp_path / f"app-{version}"
    app.mkdir()
    lock = json.loads(json.dumps(LOCK))
    lock["packages"][""]["dependencies"]["lodash"] = version
    lock["packages"]["node_modules/lodash"]["version"] = version
    (app / "package-lock.json").write_text(json.dumps(lock))
    p = run("fs", str(app), "--db-path", str(db), "--skip-db-update", "--format", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    vulns = [v for r in json.loads(p.stdout).get("Results", []) for v in r.get("Vulnerabilities", [])]
    assert all(v["PkgName"] == "lodash" for v in vulns)
    return {str(v["VulnerabilityID"]): v for v in vulns}


def test_lodash_4_17_21_is_cve_2026_4800_not_cve_2021_23337(full_db: Path, tmp_path: Path) -> None:
    got = lodash_findings(full_db, tmp_path, "4.17.21")
    assert "CVE-2021-23337" not in got
    v = got["CVE-2026-4800"]
    assert v["FixedVersion"] == "4.18.0"
    assert "CVE-2021-23337" not in v.get("Aliases", [])  # not an alias either (an ignore entry must not hit it)
    assert [m["AdvisoryID"] for m in v["MatchDetails"]] == ["GHSA-r5fr-rjxr-66jc"]


def test_lodash_4_17_20_has_both_with_their_own_fixes(full_db: Path, tmp_path: Path) -> None:
    got = lodash_findings(full_db, tmp_path, "4.17.20")
    assert got["CVE-2021-23337"]["FixedVersion"] == "4.17.21"
    assert got["CVE-2026-4800"]["FixedVersion"] == "4.18.0"


def test_two_cves_are_two_vulnerabilities_in_the_db(full_db: Path) -> None:
    st = Store(full_db)
    rows = {(r.vuln_id, r.advisory_id) for r in st.advisories("npm", "lodash") if r.source == "retire.js-jslibs"}
    assert ("CVE-2021-23337", "GHSA-35jh-r3h4-6jhm") in rows and ("CVE-2026-4800", "GHSA-r5fr-rjxr-66jc") in rows
    assert ("CVE-2026-4800", "GHSA-35jh-r3h4-6jhm") not in rows and ("CVE-2021-23337", "GHSA-r5fr-rjxr-66jc") not in rows
    for cve in ("CVE-2021-23337", "CVE-2026-4800"):
        d = st.detail(cve)
        assert d is not None
        assert not [a for a in d.aliases if a.startswith("CVE-")], d.aliases
