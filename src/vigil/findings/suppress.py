"""Filters applied after detection: severity, --ignore-unfixed, ignore files with expiry, VEX.

Findings removed by an ignore file stay in the report (Metadata.Suppressed) with the reason, so a
suppression stays visible and auditable instead of silently hiding a finding.

`.vigilignore` format (Trivy's .trivyignore): one ID per line, `#` starts a comment, an optional `exp:YYYY-MM-DD`
after the ID. Like Trivy, the expiry date is the first day on which the entry no longer applies (it expires at
00:00 UTC that day). Expired entries do not suppress and are reported as warnings. An ID matches a finding's
ID or any of its aliases (GHSA ↔ CVE ↔ PYSEC ...).

`.vigilignore.yaml` (Trivy's .trivyignore.yaml; any ignore file ending .yaml/.yml): top-level
`vulnerabilities|misconfigurations|secrets|licenses` lists of `{id, paths, purls, expired_at, statement}`.
`paths` are globs (`**` spans directories) matched against the finding's target file; `purls` match the
package (a purl without a version matches every version). `expired_at` works like `exp:`. Plain-file entries
apply to every kind of finding, YAML entries only to their section's kind.

VEX (vigil.findings.vex): `not_affected`/`fixed` statements suppress the vulnerabilities they name for the
products (purls) they name.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from vigil.errors import UserError
from vigil.findings.records import Report, Result, SuppressedFinding, Vulnerability

# vigil.findings.vex (the VEX parsers and purl matching) is imported where a VEX statement or an ignore entry's
# purls are matched: a scan without --vex and without `purls:` in its ignore file needs none of it
if TYPE_CHECKING:
    from vigil.findings.vex import VexStatement

# Entries expiring within this many days are announced so nobody is surprised by findings coming back.
EXPIRY_NOTICE_DAYS = 14
KINDS = ("vulnerabilities", "misconfigurations", "secrets", "licenses")
_KIND_OF = {"vulnerabilities": "vulnerability", "misconfigurations": "misconfiguration", "secrets": "secret",
            "licenses": "license"}

_EXP = re.compile(r"^exp:(\d{4}-\d{2}-\d{2})$")


class IgnoreFileError(UserError):
    """Malformed ignore file (user error)."""


class IgnoreEntry(msgspec.Struct, frozen=True):
    id: str
    line: int  # line in a plain file; 1-based position in its section for YAML
    expires: dt.date | None = None
    kind: str = ""  # "" = any kind (plain file); else vulnerability|misconfiguration|secret|license
    paths: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()
    statement: str = ""
    source: str = ""  # ignore file name, for reasons and warnings

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today >= self.expires

    def where(self) -> str:
        if self.kind:
            section = next(k for k, v in _KIND_OF.items() if v == self.kind)
            return f"{self.source or 'ignore file'} {section}[{self.line}]"
        return f"{self.source + ':' if self.source else 'ignore file line '}{self.line}"

    def matches(self, kind: str, ids: tuple[str, ...], target: str, purl: str) -> bool:
        if self.kind and self.kind != kind:
            return False
        if self.id not in ids:
            return False
        if self.paths and not any(glob_match(p, target) for p in self.paths):
            return False
        if not self.purls:
            return True
        from vigil.findings.vex import purl_matches

        return any(purl_matches(p, purl) for p in self.purls)


@functools.cache
def _glob_re(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    """Doublestar glob on '/'-separated paths (`**` spans directories), like Trivy's ignore-file paths."""
    return bool(_glob_re(pattern[2:] if pattern.startswith("./") else pattern).match(path))


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise IgnoreFileError(f"{where}: invalid expired_at {value!r} (expected YYYY-MM-DD)") from None


def _strs(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise IgnoreFileError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def parse_ignore_yaml(text: str, name: str = ".vigilignore.yaml") -> list[IgnoreEntry]:
    import yaml

    from vigil.yaml_safe import safe_load

    try:
        doc = safe_load(text)
    except yaml.YAMLError as e:
        raise IgnoreFileError(f"{name}: invalid YAML: {e}") from e
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise IgnoreFileError(f"{name}: expected a mapping with keys {', '.join(KINDS)}")
    unknown = sorted(str(k) for k in doc if k not in KINDS)
    if unknown:
        raise IgnoreFileError(f"{name}: unknown key(s) {', '.join(unknown)} (expected {', '.join(KINDS)})")
    out: list[IgnoreEntry] = []
    for section in KINDS:
        items = doc.get(section) or []
        if not isinstance(items, list):
            raise IgnoreFileError(f"{name}: {section} must be a list")
        for n, item in enumerate(items, 1):
            where = f"{name}: {section}[{n}]"
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
                raise IgnoreFileError(f"{where}: each entry needs an 'id'")
            extra = sorted(set(item) - {"id", "paths", "purls", "expired_at", "statement"})
            if extra:
                raise IgnoreFileError(f"{where}: unknown key(s) {', '.join(map(str, extra))}")
            out.append(IgnoreEntry(
                id=item["id"].strip(), line=n, expires=_date(item.get("expired_at"), where),
                kind=_KIND_OF[section], paths=_strs(item.get("paths"), where, "paths"),
                purls=_strs(item.get("purls"), where, "purls"), statement=str(item.get("statement") or ""),
                source=name,
            ))
    return out


def is_yaml_ignorefile(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def parse_ignorefile(text: str, name: str = ".vigilignore") -> list[IgnoreEntry]:
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        exp: dt.date | None = None
        for extra in fields[1:]:
            m = _EXP.match(extra)
            if not m:
                raise IgnoreFileError(f"{name}:{n}: unexpected {extra!r} (expected 'ID [exp:YYYY-MM-DD]')")
            try:
                exp = dt.date.fromisoformat(m.group(1))
            except ValueError:
                raise IgnoreFileError(f"{name}:{n}: invalid date {m.group(1)!r}") from None
        out.append(IgnoreEntry(id=fields[0], line=n, expires=exp))
    return out


class Filters(msgspec.Struct, frozen=True):
    severities: tuple[str, ...]
    ignore_unfixed: bool = False
    ignores: tuple[IgnoreEntry, ...] = ()
    today: dt.date | None = None
    vex: tuple[VexStatement, ...] = ()
    ignore_status: tuple[str, ...] = ()  # --ignore-status: vulnerabilities with these statuses are left out
    # --ignore-policy: called with a finding as its JSON object (Trivy's keys); True drops it. `policy_name` is
    # the reason recorded for what it drops.
    policy: Callable[[dict[str, Any]], bool] | None = None
    policy_name: str = ""


def expiry_warnings(entries: tuple[IgnoreEntry, ...], today: dt.date, name: str) -> list[str]:
    """Entries already expired: they no longer apply."""
    return [
        f"{e.where() if e.kind else f'{name}:{e.line}'}: ignore entry for {e.id} expired on "
        f"{e.expires.isoformat()} and no longer applies"
        for e in entries
        if e.expires is not None and e.expired(today)
    ]


def expiry_notices(entries: tuple[IgnoreEntry, ...], today: dt.date, name: str) -> list[str]:
    """Entries still active that expire within EXPIRY_NOTICE_DAYS (the findings will come back then)."""
    out = []
    for e in entries:
        if e.expires is None or e.expired(today):
            continue
        days = (e.expires - today).days
        if days <= EXPIRY_NOTICE_DAYS:
            where = e.where() if e.kind else f"{name}:{e.line}"
            out.append(f"{where}: ignore entry for {e.id} expires on {e.expires.isoformat()} "
                       f"(in {days} day{'s' if days != 1 else ''})")
    return out


def _ignore_reason(hit: IgnoreEntry) -> str:
    reason = f"{hit.where()}: {hit.id}" if hit.kind else f"ignore file line {hit.line}: {hit.id}"
    if hit.expires:
        reason += f" (until {hit.expires.isoformat()})"
    if hit.statement:
        reason += f": {hit.statement}"
    return reason


def _vex_reason(st: VexStatement) -> str:
    r = f"VEX {st.fmt} {st.source}: {st.status}"
    return r + (f" ({st.justification})" if st.justification else "")


def _vex_hit(vex: tuple[VexStatement, ...], v: Vulnerability) -> VexStatement | None:
    if not vex:
        return None
    from vigil.findings.vex import purl_matches

    ids = {v.vulnerability_id, *v.aliases}
    for st in vex:
        if not st.suppresses() or not ({st.vulnerability_id, *st.aliases} & ids):
            continue
        if v.purl and any(purl_matches(p, v.purl) for p in st.products):
            return st
    return None


def apply(report: Report, f: Filters) -> Report:
    today = f.today or dt.datetime.now(dt.UTC).date()
    active = tuple(e for e in f.ignores if not e.expired(today))
    suppressed: list[SuppressedFinding] = list(report.metadata.suppressed)
    sev = set(f.severities)

    def hit(kind: str, ids: tuple[str, ...], target: str, purl: str = "") -> IgnoreEntry | None:
        return next((e for e in active if e.matches(kind, ids, target, purl)), None)

    def by_policy(finding: Any) -> bool:
        return f.policy is not None and f.policy(msgspec.to_builtins(finding))

    def drop(res: Result, kind: Any, fid: str, pkg: str, reason: str) -> None:
        suppressed.append(SuppressedFinding(target=res.target, kind=kind, vulnerability_id=fid, pkg_name=pkg,
                                            reason=reason))

    new_results: list[Result] = []
    for res in report.results:
        kept: list[Vulnerability] = []
        for v in res.vulnerabilities:
            if v.severity not in sev:
                continue
            if f.ignore_unfixed and v.status != "fixed":
                continue
            if v.status in f.ignore_status:
                continue
            e = hit("vulnerability", (v.vulnerability_id, *v.aliases), v.pkg_path or res.target, v.purl)
            if e is not None:
                drop(res, "vulnerability", v.vulnerability_id, v.pkg_name, _ignore_reason(e))
                continue
            st = _vex_hit(f.vex, v)
            if st is not None:
                drop(res, "vulnerability", v.vulnerability_id, v.pkg_name, _vex_reason(st))
                continue
            if by_policy(v):
                drop(res, "vulnerability", v.vulnerability_id, v.pkg_name, f.policy_name)
                continue
            kept.append(v)
        misconfs = []
        for m in res.misconfigurations:
            e = hit("misconfiguration", (m.id, m.avd_id, *m.aliases), res.target) if m.status == "FAIL" else None
            if e is not None:
                drop(res, "misconfiguration", m.id, "", _ignore_reason(e))
                continue
            if m.status == "FAIL" and by_policy(m):
                drop(res, "misconfiguration", m.id, "", f.policy_name)
                continue
            misconfs.append(m)
        secrets = []
        for sf in res.secrets:
            if sf.severity not in sev:  # --severity applies to secrets too (Trivy)
                continue
            e = hit("secret", (sf.rule_id,), res.target)
            if e is not None:
                drop(res, "secret", sf.rule_id, "", _ignore_reason(e))
                continue
            if by_policy(sf):
                drop(res, "secret", sf.rule_id, "", f.policy_name)
                continue
            secrets.append(sf)
        licenses = []
        for lic in res.licenses:
            e = hit("license", (lic.name,), lic.file_path or res.target)
            if e is not None:
                drop(res, "license", lic.name, lic.pkg_name, _ignore_reason(e))
                continue
            if by_policy(lic):
                drop(res, "license", lic.name, lic.pkg_name, f.policy_name)
                continue
            licenses.append(lic)
        new_results.append(msgspec.structs.replace(
            _replace_vulns(res, tuple(kept)),
            misconfigurations=tuple(misconfs) if len(misconfs) != len(res.misconfigurations) else res.misconfigurations,
            secrets=tuple(secrets) if len(secrets) != len(res.secrets) else res.secrets,
            licenses=tuple(licenses) if len(licenses) != len(res.licenses) else res.licenses,
        ))
    meta = msgspec.structs.replace(report.metadata, suppressed=tuple(suppressed))
    return msgspec.structs.replace(report, results=tuple(new_results), metadata=meta)


def _replace_vulns(res: Result, vulns: tuple[Vulnerability, ...]) -> Result:
    return msgspec.structs.replace(res, vulnerabilities=vulns)
