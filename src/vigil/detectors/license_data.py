"""Default license categories (data, not logic), after Trivy's pkg/licensing/category.go, which follows Google's
license classification (https://opensource.google/documentation/reference/thirdparty/licenses).

Keys are SPDX IDs without the "-only"/"-or-later" suffix (lookups strip it). vigil.yaml `license.<category>`
replaces a category's list.
"""

from __future__ import annotations

CATEGORIES = ("forbidden", "restricted", "reciprocal", "notice", "permissive", "unencumbered")

CATEGORY_SEVERITY = {
    "forbidden": "CRITICAL",
    "restricted": "HIGH",
    "reciprocal": "MEDIUM",
    "notice": "LOW",
    "permissive": "LOW",
    "unencumbered": "LOW",
    "unknown": "UNKNOWN",
}


def _versions(prefix: str, versions: str) -> tuple[str, ...]:
    return tuple(f"{prefix}-{v}" for v in versions.split())


DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "forbidden": (
        "AGPL-1.0", "AGPL-3.0",
        *_versions("CC-BY-NC", "1.0 2.0 2.5 3.0 4.0"),
        *_versions("CC-BY-NC-ND", "1.0 2.0 2.5 3.0 4.0"),
        *_versions("CC-BY-NC-SA", "1.0 2.0 2.5 3.0 4.0"),
        "Commons-Clause", "Facebook-2-Clause", "Facebook-3-Clause", "Facebook-Examples", "WTFPL",
    ),
    "restricted": (
        "BCL",
        *_versions("CC-BY-ND", "1.0 2.0 2.5 3.0 4.0"),
        *_versions("CC-BY-SA", "1.0 2.0 2.5 3.0 4.0"),
        "GPL-1.0", "GPL-2.0", "GPL-2.0-with-autoconf-exception", "GPL-2.0-with-bison-exception",
        "GPL-2.0-with-classpath-exception", "GPL-2.0-with-font-exception", "GPL-2.0-with-GCC-exception",
        "GPL-3.0", "GPL-3.0-with-autoconf-exception", "GPL-3.0-with-GCC-exception",
        "LGPL-2.0", "LGPL-2.1", "LGPL-3.0", "NPL-1.0", "NPL-1.1",
        *_versions("OSL", "1.0 1.1 2.0 2.1 3.0"),
        "QPL-1.0", "Sleepycat",
    ),
    "reciprocal": (
        "APSL-1.0", "APSL-1.1", "APSL-1.2", "APSL-2.0", "CDDL-1.0", "CDDL-1.1", "CPL-1.0", "EPL-1.0", "EPL-2.0",
        "FreeImage", "IPL-1.0", "MPL-1.0", "MPL-1.1", "MPL-2.0", "Ruby",
    ),
    "notice": (
        *_versions("AFL", "1.1 1.2 2.0 2.1 3.0"),
        "Apache-1.0", "Apache-1.1", "Apache-2.0", "Artistic-1.0-cl8", "Artistic-1.0-Perl", "Artistic-1.0",
        "Artistic-2.0", "BSL-1.0", "BSD-2-Clause-FreeBSD", "BSD-2-Clause-NetBSD", "BSD-2-Clause",
        "BSD-3-Clause-Attribution", "BSD-3-Clause-Clear", "BSD-3-Clause-LBNL", "BSD-3-Clause", "BSD-4-Clause",
        "BSD-4-Clause-UC", "BSD-Protection",
        *_versions("CC-BY", "1.0 2.0 2.5 3.0 4.0"),
        "FTL", "ISC", "ImageMagick", "Libpng", "Lil-1.0", "Linux-OpenIB", "LPL-1.02", "LPL-1.0", "MS-PL", "MIT",
        "NCSA", "OpenSSL", "PHP-3.01", "PHP-3.0", "PIL", "Python-2.0", "Python-2.0-complete", "PostgreSQL",
        "PSF-2.0", "SGI-B-1.0", "SGI-B-1.1", "SGI-B-2.0", "Unicode-DFS-2015", "Unicode-DFS-2016", "Unicode-TOU",
        "UPL-1.0", "W3C-19980720", "W3C-20150513", "W3C", "X11", "Xnet", "Zend-2.0", "zlib-acknowledgement",
        "Zlib", "ZPL-1.1", "ZPL-2.0", "ZPL-2.1",
    ),
    "permissive": (),
    "unencumbered": ("CC0-1.0", "Unlicense", "0BSD"),
}

# Common non-SPDX spellings found in package metadata (PyPI classifiers, Maven POMs, gemspecs), lower-cased.
ALIASES: dict[str, str] = {
    "mit license": "MIT",
    "the mit license": "MIT",
    "mit/x11": "MIT",
    "expat": "MIT",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache2": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "the apache license, version 2.0": "Apache-2.0",
    "the apache software license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "bsd": "BSD-3-Clause",
    "bsd license": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "simplified bsd": "BSD-2-Clause",
    "bsd 2-clause": "BSD-2-Clause",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "python software foundation license": "PSF-2.0",
    "psf": "PSF-2.0",
    "gplv2": "GPL-2.0-only",
    "gpl-2": "GPL-2.0-only",
    "gplv2+": "GPL-2.0-or-later",
    "gplv3": "GPL-3.0-only",
    "gpl-3": "GPL-3.0-only",
    "gplv3+": "GPL-3.0-or-later",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0-or-later",
    "gnu general public license v3 or later (gplv3+)": "GPL-3.0-or-later",
    "lgpl": "LGPL-2.0-or-later",
    "lgplv2": "LGPL-2.0-only",
    "lgplv2.1": "LGPL-2.1-only",
    "lgplv3": "LGPL-3.0-only",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0-only",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3.0-or-later",
    "gnu affero general public license v3": "AGPL-3.0-only",
    "gnu affero general public license v3 or later (agplv3+)": "AGPL-3.0-or-later",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "mpl 2.0": "MPL-2.0",
    "eclipse public license 1.0": "EPL-1.0",
    "eclipse public license 2.0": "EPL-2.0",
    "eclipse public license - v 2.0": "EPL-2.0",
    "cddl": "CDDL-1.0",
    "public domain": "Unlicense",
    "cc0 1.0 universal (cc0 1.0) public domain dedication": "CC0-1.0",
    "zlib/libpng": "Zlib",
    "ruby's": "Ruby",
}
