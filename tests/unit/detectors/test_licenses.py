"""License normalisation (license-expression + aliases), Trivy's categories, severities, ignore lists."""

from __future__ import annotations

import pytest

from vigil.analyzers.lang._common import package
from vigil.detectors.licenses import LicensePolicy, findings_for, normalize


@pytest.mark.parametrize(("declared", "names"), [
    ("MIT", ["MIT"]),
    ("mit", ["MIT"]),
    ("MIT License", ["MIT"]),
    ("Apache Software License", ["Apache-2.0"]),
    ("The Apache Software License, Version 2.0", ["Apache-2.0"]),
    ("MIT OR Apache-2.0", ["MIT", "Apache-2.0"]),
    ("(MIT AND BSD-3-Clause)", ["MIT", "BSD-3-Clause"]),
    ("GPL-2.0+", ["GPL-2.0-or-later"]),
    ("LGPL-2.1 WITH Classpath-exception-2.0", ["LGPL-2.1-only WITH Classpath-exception-2.0"]),
    ("Some Custom License v3", ["Some Custom License v3"]),
    # rpm's License: tags join short names with "and"/"or": each name becomes the SPDX ID it means, so it classifies
    ("GPLv2+ and LGPLv2+", ["GPL-2.0-or-later", "LGPL-2.0-or-later"]),
    ("ASL 2.0", ["Apache-2.0"]),
    ("zlib", ["Zlib"]),
    ("", []),
])
def test_normalize(declared: str, names: list[str]) -> None:
    assert normalize(declared) == names


@pytest.mark.parametrize(("spdx", "category"), [
    ("AGPL-3.0-only", "forbidden"), ("WTFPL", "forbidden"), ("GPL-2.0-or-later", "restricted"),
    ("LGPL-2.1-only", "restricted"), ("MPL-2.0", "reciprocal"), ("EPL-2.0", "reciprocal"), ("MIT", "notice"),
    ("Apache-2.0", "notice"), ("BSD-3-Clause", "notice"), ("Unlicense", "unencumbered"), ("CC0-1.0", "unencumbered"),
    ("Proprietary", "unknown"),
])
def test_default_categories(spdx: str, category: str) -> None:
    assert LicensePolicy.build().category(spdx) == category


def test_findings_severity_override_and_ignore() -> None:
    pkgs = [package("npm", "a", "1.0.0", licenses=("MIT OR GPL-3.0",)),
            package("npm", "b", "2.0.0", licenses=("AGPL-3.0-only",)),
            package("npm", "c", "1.0.0", licenses=("Weird-License",)),
            package("npm", "d", "1.0.0", licenses=("LGPL-2.1 WITH Classpath-exception-2.0",))]
    got = {(f.pkg_name, f.name): (f.category, f.severity) for f in findings_for(pkgs, LicensePolicy.build())}
    assert got == {
        ("a", "MIT"): ("notice", "LOW"), ("a", "GPL-3.0-only"): ("restricted", "HIGH"),
        ("b", "AGPL-3.0-only"): ("forbidden", "CRITICAL"), ("c", "Weird-License"): ("unknown", "UNKNOWN"),
        ("d", "LGPL-2.1-only WITH Classpath-exception-2.0"): ("restricted", "HIGH"),
    }
    policy = LicensePolicy.build({"forbidden": ("MIT",), "permissive": ()}, ignored=("agpl-3.0-only",))
    got = {(f.pkg_name, f.name): f.severity for f in findings_for(pkgs, policy)}
    assert got[("a", "MIT")] == "CRITICAL" and ("b", "AGPL-3.0-only") not in got
    # AGPL left the forbidden list when it was replaced: unknown now
    assert LicensePolicy.build({"forbidden": ("MIT",)}).category("AGPL-3.0") == "unknown"
