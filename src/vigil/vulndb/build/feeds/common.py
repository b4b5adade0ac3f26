"""Helpers shared by the feed ETL modules: strict JSON access, skip counting, normalisation, merging.

Every accessor raises FeedError (never KeyError/TypeError) when the input does not have the expected shape, so a
feed's parse() either yields records or raises FeedError — the builder relies on that contract (the fuzz tests in
tests/unit/feeds check it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

import msgspec

from vigil.log import get_logger
from vigil.vulndb.build.records import FeedError
from vigil.vulndb.records import AdvisoryRecord, AffectedPackage, Interval

log = get_logger(__name__)

JsonObj = dict[str, object]


# --------------------------------------------------------------------------------------------------- decoding


def decode_json(filename: str, data: bytes) -> object:
    """Decode one JSON document; FeedError on any syntax/encoding problem."""
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"{filename}: invalid JSON: {exc}") from exc


def decode_json_object(filename: str, data: bytes) -> JsonObj:
    doc = decode_json(filename, data)
    if not isinstance(doc, dict):
        raise FeedError(f"{filename}: expected a JSON object at top level, got {type(doc).__name__}")
    return doc


def iter_jsonl(filename: str, data: bytes) -> Iterator[tuple[str, JsonObj]]:
    """Yield (where, object) for each non-blank line; `where` is "file:line" for messages.
    A line that is not valid JSON or not an object is a malformed file (FeedError naming the line)."""
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        where = f"{filename}:{lineno}"
        try:
            obj = msgspec.json.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError, ValueError) as exc:
            raise FeedError(f"{where}: invalid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise FeedError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        yield where, obj


# --------------------------------------------------------------------------------------------------- typed access


def _bad(where: str, key: str, expected: str, value: object) -> FeedError:
    return FeedError(f"{where}: field {key!r} must be {expected}, got {type(value).__name__}")


def req_str(obj: JsonObj, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise FeedError(f"{where}: required field {key!r} missing or not a non-empty string")
    return value


def opt_str(obj: JsonObj, key: str, where: str) -> str:
    """A string field; missing or null -> ""."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(where, key, "a string", value)
    return value


def opt_scalar_str(obj: JsonObj, key: str, where: str) -> str:
    """A string or integer field rendered as a string (e.g. rubysec `osvdb: 90946`); missing/null -> ""."""
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _bad(where, key, "a string or integer", value)
    return str(value)


def opt_float(obj: JsonObj, key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(where, key, "a number", value)
    return float(value)


def opt_list(obj: JsonObj, key: str, where: str) -> list[object]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, key, "a list", value)
    return value


def opt_dict(obj: JsonObj, key: str, where: str) -> JsonObj:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(where, key, "an object", value)
    return value


def as_dict(value: object, where: str) -> JsonObj:
    if not isinstance(value, dict):
        raise FeedError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def str_list(obj: JsonObj, key: str, where: str) -> list[str]:
    """A list of strings (a single string is accepted as a one-item list; nulls are dropped)."""
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise _bad(where, key, "a list of strings", value)
    out: list[str] = []
    for item in value:
        if item is None:
            continue
        if not isinstance(item, str):
            raise _bad(where, f"{key}[]", "a string", item)
        out.append(item)
    return out


def opt_text(obj: JsonObj, key: str, where: str) -> str:
    """An optional string member with surrounding white space removed ("" when absent)."""
    return opt_str(obj, key, where).strip()


def opt_date(obj: JsonObj, key: str, where: str) -> str:
    """An optional date/time member, normalised by norm_date ("" when absent)."""
    return norm_date(opt_str(obj, key, where))


# --------------------------------------------------------------------------------------------------- counting


class Skips:
    """Counts records/packages skipped as 'unusual' (not errors) and logs a debug summary at the end of a parse."""

    def __init__(self, feed: str, filename: str) -> None:
        self.feed = feed
        self.filename = filename
        self.counts: Counter[str] = Counter()
        self.parsed = 0

    def skip(self, reason: str, what: str = "") -> None:
        self.counts[reason] += 1
        log.debug("%s: %s: skipped %s (%s)", self.feed, self.filename, what or "record", reason)

    def done(self) -> None:
        log.debug(
            "%s: %s: %d records, skipped %s",
            self.feed,
            self.filename,
            self.parsed,
            dict(self.counts) or "none",
        )


# --------------------------------------------------------------------------------------------------- normalisation

_SEVERITIES = {
    "LOW": "LOW",
    "MODERATE": "MEDIUM",
    "MEDIUM": "MEDIUM",
    "HIGH": "HIGH",
    "IMPORTANT": "HIGH",
    "CRITICAL": "CRITICAL",
}


def norm_severity(value: str) -> str:
    """Source wording -> LOW/MEDIUM/HIGH/CRITICAL, "" when unknown (e.g. NONE, UNKNOWN, empty)."""
    return _SEVERITIES.get(value.strip().upper(), "")


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def norm_date(value: str) -> str:
    """Normalise timestamps to RFC 3339 UTC-ish text so they sort: "2022-10-13T13:15Z" -> "2022-10-13T13:15:00Z",
    "2021-12-10T10:15:09.143" -> "2021-12-10T10:15:09Z"; dates stay dates. Placeholders (year 0001, 1970-01-01
    epoch stamps) become "". Offsets other than Z are kept as given. Unrecognised text is returned unchanged."""
    value = value.strip()
    if not value or value.startswith(("0001-", "1970-01-01")):
        return ""
    if _DATE_ONLY.match(value):
        return value
    m = _DATE_TIME.match(value)
    if not m:
        return value
    day, hm, sec, _frac, tz = m.groups()
    tz = tz or "Z"
    if tz in ("+00:00", "+0000", "-00:00"):
        tz = "Z"
    return f"{day}T{hm}{sec or ':00'}{tz}"


def dedupe(items: Iterable[str]) -> tuple[str, ...]:
    """Order-preserving de-duplication, dropping empty strings."""
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)


def fixed_from_safe(safe: Iterable[Interval]) -> tuple[str, ...]:
    """The fix versions a 'patched' list names: inclusive lower bounds of its intervals (">= 1.2.3" -> "1.2.3")."""
    return dedupe(iv.lo for iv in safe if iv.lo is not None and iv.lo_incl)


def fixed_from_vulnerable(vulnerable: Iterable[Interval]) -> tuple[str, ...]:
    """Exclusive upper bounds of vulnerable intervals ("< 1.2.3" -> "1.2.3")."""
    return dedupe(iv.hi for iv in vulnerable if iv.hi is not None and not iv.hi_incl)


def other_ids(ids: Iterable[str], record_id: str) -> tuple[str, ...]:
    """Aliases of an advisory: `ids` de-duplicated (empty ones dropped), without the record's own ID."""
    return tuple(a for a in dedupe(ids) if a != record_id)


# --------------------------------------------------------------------------------------------------- merging

_SEVERITY_RANK = {"": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


def _merge_affected(packages: list[AffectedPackage]) -> tuple[AffectedPackage, ...]:
    """Fold entries for the same package that only list vulnerable ranges (no safe ranges) into one entry: the
    union of their ranges. Entries with safe ranges stay separate (each is evaluated on its own; a version is
    vulnerable if any entry says so)."""
    out: list[AffectedPackage] = []
    index: dict[tuple[str, str, str], int] = {}
    for pkg in packages:
        key = (pkg.ecosystem, pkg.name, pkg.severity)
        if pkg.safe or key not in index:
            if not pkg.safe:
                index[key] = len(out)
            out.append(pkg)
            continue
        prev = out[index[key]]
        # An empty `vulnerable` means "every version": the union is then every version too.
        vulnerable = () if not prev.vulnerable or not pkg.vulnerable else prev.vulnerable + pkg.vulnerable
        out[index[key]] = AffectedPackage(
            ecosystem=pkg.ecosystem,
            name=pkg.name,
            vulnerable=tuple(dict.fromkeys(vulnerable)),
            fixed=dedupe(prev.fixed + pkg.fixed),
            severity=pkg.severity,
        )
    return tuple(out)


def merge_by_id(records: Iterable[AdvisoryRecord]) -> list[AdvisoryRecord]:
    """Make IDs unique within one parse: feeds keyed by CVE (rubysec, friendsofphp, victims, …) state the same CVE
    once per package. Records with the same ID are merged into one advisory listing all affected packages; text
    fields come from the first, aliases/references/CWEs are unioned, dates are the earliest published and latest
    modified. If the merged records disagree on severity, each affected package keeps its own record's rating
    (AffectedPackage.severity, the 'package-specific vendor severity') and the advisory gets the highest."""
    groups: dict[str, list[AdvisoryRecord]] = {}
    for rec in records:
        groups.setdefault(rec.id, []).append(rec)
    out: list[AdvisoryRecord] = []
    for recs in groups.values():
        if len(recs) == 1:
            out.append(recs[0])
            continue
        first = recs[0]
        severities = {r.severity for r in recs}
        affected: list[AffectedPackage] = []
        for r in recs:
            for pkg in r.affected:
                if len(severities) > 1 and not pkg.severity and r.severity:
                    pkg = msgspec.structs.replace(pkg, severity=r.severity)
                affected.append(pkg)
        published = sorted(r.published for r in recs if r.published)
        modified = sorted(r.modified for r in recs if r.modified)
        cvss = next((r.cvss for r in recs if r.cvss is not None), None)
        out.append(
            msgspec.structs.replace(
                first,
                affected=_merge_affected(affected),
                aliases=tuple(a for a in dedupe(a for r in recs for a in r.aliases) if a != first.id),
                references=dedupe(u for r in recs for u in r.references),
                cwe_ids=dedupe(c for r in recs for c in r.cwe_ids),
                severity=max(severities, key=lambda s: _SEVERITY_RANK.get(s, 0)),
                cvss=cvss,
                published=published[0] if published else "",
                modified=modified[-1] if modified else "",
                description=first.description or next((r.description for r in recs if r.description), ""),
            )
        )
    return out


def finish(records: Iterable[AdvisoryRecord], skips: Skips) -> list[AdvisoryRecord]:
    """The end of a feed parse: merge records by ID (merge_by_id), count the advisories and log the skip summary."""
    merged = merge_by_id(records)
    skips.parsed = len(merged)
    skips.done()
    return merged
