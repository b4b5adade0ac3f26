"""vigil.inventory.licenses: declared license names -> SPDX. Cases of Trivy's pkg/licensing/normalize_test.go
(Apache-2.0) where both tools agree, plus the Debian and apk forms seen in ../shared/data/images."""

from __future__ import annotations

import pytest

from vigil.inventory.licenses import (
    TEXT_PREFIX,
    lax_split_licenses,
    normalize_license,
    normalize_licenses,
    split_licenses,
)


@pytest.mark.parametrize(("text", "want"), [
    ("ASL 2.0", ["Apache-2.0"]),
    ("MPL 2.0 GPL2+", ["MPL-2.0", "GPL-2.0-or-later"]),
    ("GPL-2.0-only WITH Classpath-exception-2.0", ["GPL-2.0-only WITH Classpath-exception-2.0"]),
    ("BSD-3-CLAUSE OR GPL-2.0-only WITH Classpath-exception-2.0 AND MPL-2.0 ASL 2.0",
     ["BSD-3-Clause", "GPL-2.0-only WITH Classpath-exception-2.0", "MPL-2.0", "Apache-2.0"]),
    ("MIT BSD GPL2+", ["MIT", "BSD-3-Clause", "GPL-2.0-or-later"]),  # apk's L: field in alpine-like
    ("", []),
])
def test_lax_split(text: str, want: list[str]) -> None:
    assert lax_split_licenses(text) == want


@pytest.mark.parametrize(("text", "want"), [
    ("GPL-1+,GPL-2", ["GPL-1+", "GPL-2"]),
    ("GPL-1+,GPL-2,GPL-3", ["GPL-1+", "GPL-2", "GPL-3"]),
    ("GPL-1+ or Artistic or Artistic-dist", ["GPL-1+", "Artistic", "Artistic-dist"]),
    ("LGPLv3+_or_GPLv2+", ["LGPLv3+", "GPLv2+"]),
    ("BSD-3-CLAUSE and GPL-2", ["BSD-3-CLAUSE", "GPL-2"]),
    ("Apache License, Version 2.0", ["Apache License, Version 2.0"]),
    ("GNU Lesser General Public License v2 or later", ["GNU Lesser General Public License v2 or later"]),
    ("Permission is hereby granted, free of charge", [TEXT_PREFIX + "Permission is hereby granted, free of charge"]),
])
def test_split(text: str, want: list[str]) -> None:
    assert split_licenses(text) == want


@pytest.mark.parametrize(("name", "want"), [
    ("  the apache license  ", "Apache-2.0"), ("apache 2.0", "Apache-2.0"), ("Apache License, Version 2.0", "Apache-2.0"),
    ("al-2", "Apache-2.0"), ("The MIT License", "MIT"), ("Expat", "MIT"), ("mit", "MIT"),
    ("GPL-2", "GPL-2.0-only"), ("GPL-2+", "GPL-2.0-or-later"), ("GPLv2+", "GPL-2.0-or-later"),
    ("GPL-2.0", "GPL-2.0-only"), ("GPL-2.0+", "GPL-2.0-or-later"), ("GPL-3.0-or-later", "GPL-3.0-or-later"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"), ("LGPL", "LGPL-2.0-or-later"), ("GPL", "GPL-2.0-or-later"),
    ("GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"), ("GFDL-NIV-1.3", "GFDL-1.3-no-invariants-only"),
    ("GPL-3+ with autoconf exception", "GPL-3.0-with-autoconf-exception+"),
    ("BSD", "BSD-3-Clause"), ("BSD-2-clause", "BSD-2-Clause"), ("BSD-2-clause-NetBSD", "BSD-2-Clause-NetBSD"),
    ("Tcl", "TCL"), ("tcl", "TCL"), ("zlib", "Zlib"), ("GNU Lesser", "LGPL-2.1-only"),
    # no SPDX license meant: kept as written
    ("public-domain", "public-domain"), ("MIT/X11", "MIT/X11"), ("permissive", "permissive"),
    ("test-fixture", "test-fixture"), ("", ""),
])
def test_normalize(name: str, want: str) -> None:
    assert normalize_license(name) == want


def test_normalize_list_drops_empties_and_repeats() -> None:
    assert normalize_licenses(["MIT", "", "Expat", "GPL-2", "mit"]) == ("MIT", "GPL-2.0-only")
    text = TEXT_PREFIX + "Permission is hereby granted"
    assert normalize_licenses([text]) == (text,)


def test_spdx_id_table_is_current() -> None:
    """Declared licenses are normalised with data/spdx_ids.json instead of importing license-expression at scan
    time: the table says what the pinned license-expression's index says."""
    from tests.tool_helpers import load_tool

    gen = load_tool("gen_spdx_ids")
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(), "regenerate it with `make spdx-ids`"
    assert len(gen.ids()) > 600  # the index was read, not an empty table compared with an empty table
