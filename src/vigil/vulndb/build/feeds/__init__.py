"""Feed ETL modules. Each feed module exposes FEEDS, a tuple of vigil.vulndb.build.records.Feed (single-feed
modules also expose it as FEED).

The list below is the registry: explicit, in a fixed order (language advisories — osv.py also
carries the AlmaLinux errata, which share its OSV parser —, then OS distribution advisories, then NVD, then KEV);
a test checks that every module in this package is either listed here or is one of HELPER_MODULES.
Importing this package imports nothing else; all_feeds() imports the modules.
"""

from __future__ import annotations

import importlib

from vigil.vulndb.build.records import Feed

FEED_MODULES = (
    "vigil.vulndb.build.feeds.osv",
    "vigil.vulndb.build.feeds.rustsec",
    "vigil.vulndb.build.feeds.rubysec",
    "vigil.vulndb.build.feeds.friendsofphp",
    "vigil.vulndb.build.feeds.nodejs_security_wg",
    "vigil.vulndb.build.feeds.retirejs",
    "vigil.vulndb.build.feeds.victims",
    "vigil.vulndb.build.feeds.elixir",
    "vigil.vulndb.build.feeds.alpine_secdb",
    "vigil.vulndb.build.feeds.debian",
    "vigil.vulndb.build.feeds.ubuntu_oval",
    "vigil.vulndb.build.feeds.rocky_oval",
    "vigil.vulndb.build.feeds.nvd",
    "vigil.vulndb.build.feeds.kev",
)

# Shared code, not feeds.
HELPER_MODULES = (
    "vigil.vulndb.build.feeds.common",
    "vigil.vulndb.build.feeds.constraints",
    "vigil.vulndb.build.feeds.cvss",
    "vigil.vulndb.build.feeds.os_advisories",
)


def all_feeds() -> tuple[Feed, ...]:
    """Every feed, in FEED_MODULES order (and each module's FEEDS order). Feed names are unique."""
    feeds: list[Feed] = []
    for module_name in FEED_MODULES:
        module = importlib.import_module(module_name)
        module_feeds = module.FEEDS
        if not isinstance(module_feeds, tuple) or not all(isinstance(f, Feed) for f in module_feeds):
            raise TypeError(f"{module_name}.FEEDS must be a tuple of Feed")
        feeds.extend(module_feeds)
    names = [f.name for f in feeds]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate feed names: {names}")
    return tuple(feeds)
