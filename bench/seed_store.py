"""Fill a report store with a history: `--days` days of daily scans of `--targets` targets, published through the
store's own publish path (Store.publish: findings tracked, roll-ups and totals kept, retention applied), so the
store is what a server that received those reports would hold.

    PYTHONPATH=src python bench/seed_store.py --url sqlite:////tmp/year.db --targets 200 --days 365
    PYTHONPATH=src python bench/seed_store.py --url postgresql://vigil@127.0.0.1:5432/vigil --targets 300

Targets are a third each images (tags and a digest per build), workloads (cluster/namespace/Deployment) and
repository branches, with team labels. Each starts with some of the demo project's real vulnerabilities
(tests/fixtures/reports/demo-report.json) plus generated ones over a set of real package names; every day some are
fixed and some new ones appear, now and then a CRITICAL or a known-exploited one; every seventh target exposes a
secret and every other one has a Dockerfile misconfiguration. Scans are published day by day, every target's scan
of a day before the next day, as a fleet scanned nightly would send them. Deterministic for a given --seed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "fixtures" / "reports" / "demo-report.json"
PKGS = ("openssl", "libcurl", "zlib", "django", "requests", "lodash", "log4j-core", "jackson-databind", "glibc",
        "express", "pyyaml", "jinja2", "golang.org/x/net", "spring-core", "busybox", "netty-codec-http", "urllib3",
        "minimist", "libxml2", "sqlite")
SEVERITIES = ("CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW", "UNKNOWN")


def _vuln(v: dict[str, Any]) -> Any:
    from vigil.findings.records import Vulnerability

    return Vulnerability(vulnerability_id=v["id"], pkg_name=v["pkg"], installed_version=v["version"],
                         fixed_version=v["fixed"], status="fixed" if v["fixed"] else "affected",
                         severity=v["severity"], known_exploited=v["kev"], title=v["title"])


class Fleet:
    """The targets and their current vulnerabilities, advanced one day at a time."""

    def __init__(self, n: int, seed: int) -> None:
        from vigil.store import TargetSpec

        self.rng = random.Random(seed)
        demo = json.loads(DEMO.read_bytes())
        self.real = [{"id": v["VulnerabilityID"], "pkg": v["PkgName"], "version": v["InstalledVersion"],
                      "fixed": v.get("FixedVersion", ""), "severity": v["Severity"], "kev": False,
                      "title": v.get("Title", "")}
                     for r in demo["Results"] for v in r.get("Vulnerabilities") or ()]
        self.n_new = 0
        self.targets: list[dict[str, Any]] = []
        for i in range(n):
            labels = {"team": f"team-{i % 8}", "tier": ("web", "batch", "data")[i % 3]}
            kind = i % 3
            spec = (TargetSpec(cluster=f"prod-{i % 2}", namespace=f"ns-{i % 12}", workload=f"Deployment/svc-{i}",
                               labels=labels) if kind == 0 else
                    TargetSpec(repository=f"github.com/acme/repo-{i}", branch="main", labels=labels) if kind == 1
                    else TargetSpec(name=f"registry.example.com/team-{i % 8}/app-{i}", labels=labels))
            self.targets.append({
                "spec": spec, "art": "filesystem" if kind == 1 else "container_image",
                "name": spec.name or spec.workload or spec.repository,
                "real": self.rng.sample(self.real, k=min(len(self.real), self.rng.randint(2, 10))),
                "extra": [self.fresh() for _ in range(self.rng.randint(5, 60))],
                "secret": i % 7 == 0, "misconf": i % 2 == 1})

    def fresh(self) -> dict[str, Any]:
        self.n_new += 1
        r = self.rng
        sev = r.choice(SEVERITIES)
        return {"id": f"CVE-2026-{100000 + self.n_new}", "pkg": r.choice(PKGS),
                "version": f"{r.randint(0, 4)}.{r.randint(0, 30)}.{r.randint(0, 9)}",
                "fixed": r.choice(("", "9.9.9", "10.0.1")), "severity": sev, "kev": r.random() < 0.02,
                "title": f"generated {sev.lower()} vulnerability {self.n_new}"}

    def day(self, t: dict[str, Any]) -> None:
        r = self.rng
        for _ in range(r.choice((0, 0, 0, 1, 1, 2))):  # fixes land
            if t["extra"]:
                t["extra"].pop(r.randrange(len(t["extra"])))
        for _ in range(r.choice((0, 0, 0, 1, 1, 2))):  # new advisories, new dependencies
            t["extra"].append(self.fresh())

    def report(self, i: int, t: dict[str, Any], when: dt.datetime, day: int) -> Any:
        from vigil.findings.records import (
            CauseMetadata,
            Metadata,
            Misconfiguration,
            Report,
            Result,
            SecretFinding,
        )

        results = [Result(target="requirements.txt" if t["art"] == "filesystem" else "app/package-lock.json",
                          class_="lang-pkgs", type="pip", vulnerabilities=tuple(
                              _vuln(v) for v in [*t["real"], *t["extra"]]))]
        if t["misconf"]:
            results.append(Result(target="Dockerfile", class_="config", type="dockerfile", misconfigurations=(
                Misconfiguration(type="dockerfile", id="DS-0002", title="Image user should not be 'root'",
                                 severity="HIGH", status="FAIL", cause_metadata=CauseMetadata()),)))
        if t["secret"]:
            results.append(Result(target="config/settings.py", class_="secret", secrets=(
                SecretFinding(rule_id="aws-access-key-id", category="AWS", severity="CRITICAL",
                              title="AWS Access Key ID", start_line=3, end_line=3),)))
        md = Metadata()
        if t["art"] == "container_image":
            md = Metadata(repo_tags=(f"{t['name']}:build-{day}",),
                          repo_digests=(f"{t['name']}@sha256:{i:08x}{day:08x}".ljust(len(t["name"]) + 72, "0"),))
        return Report(artifact_name=t["name"], artifact_type=t["art"], vigil_version="seed",
                      created_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"), metadata=md, results=tuple(results))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="store URL (sqlite:///PATH or postgresql://USER@HOST/DB)")
    ap.add_argument("--targets", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--retention-days", type=int, default=90, help="as the server's --store-retention-days")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.targets < 1 or args.days < 1:
        sys.exit("seed_store: --targets and --days must be 1 or more")
    from vigil.store import PublishRequest, Store, StoreError

    try:
        store = Store(args.url, retention_days=args.retention_days)
    except StoreError as e:
        sys.exit(f"seed_store: {e}")
    fleet = Fleet(args.targets, args.seed)
    end = dt.datetime.now(dt.UTC).replace(microsecond=0, second=0) - dt.timedelta(hours=1)
    start = end - dt.timedelta(days=args.days - 1)
    t0 = time.perf_counter()
    n = 0
    try:
        for d in range(args.days):
            for i, t in enumerate(fleet.targets):
                fleet.day(t)
                when = start + dt.timedelta(days=d, minutes=i % 600)
                store.publish(PublishRequest(report=fleet.report(i, t, when, d), target=t["spec"],
                                             commit=f"{d:08x}{i:032x}", source="ci"),
                              received_at=when + dt.timedelta(seconds=30))
                n += 1
            if d % 10 == 9 or d == args.days - 1:
                el = time.perf_counter() - t0
                print(f"day {d + 1}/{args.days}: {n} scans in {el:.0f} s ({n / el:.0f}/s)", file=sys.stderr,
                      flush=True)
    finally:
        store.close()
    el = time.perf_counter() - t0
    print(json.dumps({"targets": args.targets, "days": args.days, "scans": n, "seconds": round(el, 1),
                      "reports_per_s": round(n / el, 1), "generated_vulnerabilities": fleet.n_new}))


if __name__ == "__main__":
    main()
