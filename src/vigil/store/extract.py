"""The findings of a report as the store keeps them: one row per stable key.

Keys do not contain the artifact's name or OS version (which change with every tag and base image), so a finding
keeps its history across rebuilds: a vulnerability is its ID + package + installed version + where the package is
(its path, or for OS packages the OS family); a misconfiguration is its check ID + file + resource; a secret is its
rule + file (line numbers move with every edit)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from vigil.findings.records import SEVERITY_RANK, Report, Result
from vigil.store.records import BaseImageAdvice, PackageUpgrade, RemediationPlan


@dataclass(frozen=True)
class FindingRow:
    key: str
    kind: str
    finding_id: str
    pkg_name: str
    pkg_version: str
    location: str
    severity: str
    fixed_version: str
    title: str
    fixable: bool
    kev: bool
    layer: str = ""  # DiffID of the image layer that brought it


# column widths (schema.py): values beyond are cut, so a hostile report cannot fail an insert on PostgreSQL
_W = {"finding_id": 256, "pkg_name": 512, "pkg_version": 256, "location": 1024, "fixed_version": 256,
      "title": 1024}


def _cut(s: str, field: str) -> str:
    return s[: _W[field]]


def stable_key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def findings_of(report: Report) -> list[FindingRow]:
    out: dict[str, FindingRow] = {}

    def add(row: FindingRow) -> None:
        old = out.get(row.key)
        if old is None or SEVERITY_RANK.get(row.severity, 0) > SEVERITY_RANK.get(old.severity, 0):
            out[row.key] = row

    for r in report.results:
        where_pkgs = f"os:{r.type}" if r.class_ == "os-pkgs" else r.target
        for v in r.vulnerabilities:
            loc = v.pkg_path or where_pkgs
            add(FindingRow(
                key=stable_key("vulnerability", v.vulnerability_id, v.pkg_name, v.installed_version, loc),
                kind="vulnerability", finding_id=_cut(v.vulnerability_id, "finding_id"),
                pkg_name=_cut(v.pkg_name, "pkg_name"), pkg_version=_cut(v.installed_version, "pkg_version"),
                location=_cut(loc, "location"), severity=v.severity,
                fixed_version=_cut(v.fixed_version, "fixed_version"), title=_cut(v.title, "title"),
                fixable=bool(v.fixed_version), kev=v.known_exploited,
                layer=v.layer.diff_id[:80] if v.layer is not None else ""))
        for m in r.misconfigurations:
            if m.status != "FAIL":
                continue
            res = m.cause_metadata.resource
            loc = f"{r.target}#{res}" if res else r.target
            add(FindingRow(
                key=stable_key("misconfiguration", m.id, r.target, res), kind="misconfiguration",
                finding_id=_cut(m.id, "finding_id"), pkg_name="", pkg_version="", location=_cut(loc, "location"),
                severity=m.severity, fixed_version="", title=_cut(m.title, "title"), fixable=bool(m.resolution),
                kev=False))
        for s in r.secrets:
            add(FindingRow(
                key=stable_key("secret", s.rule_id, r.target), kind="secret", finding_id=_cut(s.rule_id, "finding_id"),
                pkg_name="", pkg_version="", location=_cut(r.target, "location"), severity=s.severity,
                fixed_version="", title=_cut(s.title, "title"), fixable=False, kev=False,
                layer=s.layer.diff_id[:80] if s.layer is not None else ""))
    return list(out.values())


MAX_LAYERS = 256


def layers_of(report: Report) -> list[list[str]]:
    """The image's layers as [DiffID, the instruction that made it] (the layer filter's choices)."""
    return [[layer.diff_id[:80], layer.created_by[:512]] for layer in report.metadata.layers[:MAX_LAYERS]]


def remediation_plan(report: Report, scan_id: int) -> RemediationPlan:
    """The whole report's upgrades (each Result's Remediations, most CRITICAL findings fixed first) and, for an
    image with OS packages, what updating its base image would fix."""
    ups: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    os_total = os_fixable = os_critical = 0
    for r in report.results:
        sev = {(v.vulnerability_id, v.pkg_name): v.severity for v in r.vulnerabilities}
        for m in r.remediations:
            if not m.upgrade_to or not m.fixes:
                continue
            fixed = [sev.get((i, m.pkg_name), "UNKNOWN") for i in m.fixes]
            # one package at one version in several places (a lockfile and node_modules): one upgrade
            k = (m.pkg_name[:512], m.installed_version[:256], m.upgrade_to[:256])
            n, c, h = ups.get(k, (0, 0, 0))
            ups[k] = (n + len(fixed), c + fixed.count("CRITICAL"), h + fixed.count("HIGH"))
        if r.class_ == "os-pkgs":
            os_total += len(r.vulnerabilities)
            fix = [v for v in r.vulnerabilities if v.fixed_version]
            os_fixable += len(fix)
            os_critical += sum(1 for v in fix if v.severity == "CRITICAL")
    plan = sorted((PackageUpgrade(pkg_name=p, installed_version=v, upgrade_to=to, fixes=n, critical=c, high=h)
                   for (p, v, to), (n, c, h) in ups.items()), key=lambda u: (-u.critical, -u.high, -u.fixes, u.pkg_name))
    base = None
    os_info = report.metadata.os
    if report.artifact_type == "container_image" and (os_total or (os_info is not None and os_info.eosl)):
        name = f"{os_info.family} {os_info.name}".strip() if os_info is not None else ""
        base = BaseImageAdvice(os=name[:200], eosl=bool(os_info is not None and os_info.eosl), fixable=os_fixable,
                               critical=os_critical, total=os_total)
    return RemediationPlan(scan_id=scan_id, n_packages=len(plan), fixes=sum(u.fixes for u in plan),
                           critical=sum(u.critical for u in plan), packages=plan[:20], base_image=base)


def locate(report: Report, key: str) -> tuple[Result, Any] | None:
    """The report record (Vulnerability, Misconfiguration or SecretFinding) whose stable key is `key`, with its
    Result: the details the store does not keep in columns (description, CVSS, layer, code)."""
    for r in report.results:
        where_pkgs = f"os:{r.type}" if r.class_ == "os-pkgs" else r.target
        for v in r.vulnerabilities:
            if stable_key("vulnerability", v.vulnerability_id, v.pkg_name, v.installed_version,
                          v.pkg_path or where_pkgs) == key:
                return r, v
        for m in r.misconfigurations:
            if m.status == "FAIL" and stable_key("misconfiguration", m.id, r.target, m.cause_metadata.resource) == key:
                return r, m
        for sf in r.secrets:
            if stable_key("secret", sf.rule_id, r.target) == key:
                return r, sf
    return None
