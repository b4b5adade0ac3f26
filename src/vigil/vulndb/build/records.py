"""The Feed protocol every ETL module implements."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vigil.errors import UserError
from vigil.vulndb.records import AdvisoryRecord, CveEnrichment


class FeedError(UserError):
    """A feed file is not what the ETL module expects. The whole feed is then skipped and reported."""


@dataclass(frozen=True)
class Feed:
    """name: permanent ID (shown in DataSource, stored in metadata).
    paths: glob patterns relative to the feeds directory; '.gz' files are decompressed by the builder.
    kind: 'advisories' -> parse yields AdvisoryRecord; 'nvd' -> CveEnrichment; 'kev' -> CVE IDs (str).
    parse(filename, data) must be pure and raise FeedError for malformed input."""

    name: str
    title: str
    url: str
    paths: tuple[str, ...]
    kind: str
    parse: Callable[[str, bytes], Iterable[AdvisoryRecord | CveEnrichment | str]]
