"""`--publish URL`: send the report the user sees to a `vigil server`'s report store.

A store that cannot take the report never fails the scan (a warning; the exit code is the scan's) unless
--publish-required, then it is one line and exit 2. Every command that produces a report calls publish_report once
it has rendered it. `vigil k8s` calls publish_cluster: one report per resource, each on its workload target
(cluster/namespace/Kind/name), sent over one connection, and one warning for the lot when the store is down."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import click

from vigil.findings.records import Report
from vigil.shells.cli.common import fail, printable
from vigil.store.ci import CIInfo, detect

PUBLISH_TIMEOUT = 30.0


def git_info(path: Path) -> CIInfo | None:
    """The checkout's origin, branch and commit, read with git itself (None outside a work tree or without git)."""
    d = path if path.is_dir() else path.parent

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", "-C", str(d), *args], capture_output=True, text=True, timeout=10,
                                 env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    return CIInfo(provider="git", repository=git("config", "--get", "remote.origin.url"),
                  branch="" if branch == "HEAD" else branch, commit=commit)


def parse_labels(items: Any) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items or ():
        k, sep, v = str(item).partition("=")
        if not sep or not k.strip():
            fail(f"invalid --publish-label {item!r} (expected KEY=VALUE)")
        labels[k.strip()] = v.strip()
    return labels


def _shown(url: str) -> str:
    """The URL without credentials, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username or parts.password:
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname
                               else "")
    return urlunsplit(parts)


class _Publisher:
    """The store URL, headers and CI metadata resolved once; `send` posts one PublishRequest."""

    def __init__(self, url: str, values: dict[str, Any], ci: CIInfo) -> None:
        import httpx

        self.url, self.ci = url, ci
        self.labels = parse_labels(values.get("publish_label"))
        self.name = str(values.get("publish_name") or "")
        self.headers = {"Content-Type": "application/json"}
        token = str(values.get("publish_token") or "")
        if token:
            self.headers[str(values.get("token_header") or "Vigil-Token")] = token
        self.client = httpx.Client(timeout=PUBLISH_TIMEOUT)

    def spec(self, target: Any) -> Any:
        import msgspec

        from vigil.store import TargetSpec

        spec: TargetSpec = target or TargetSpec()
        return msgspec.structs.replace(
            spec, name=self.name or spec.name, repository=spec.repository or self.ci.repository,
            branch=spec.branch or self.ci.branch, labels={**spec.labels, **self.labels})

    def send(self, report: Report, spec: Any, source: str) -> tuple[dict[str, Any] | None, str, bool]:
        """(the store's PublishResult as JSON or None, the problem, whether the store as a whole is unusable: down,
        or refusing this token, so that further reports would fail the same way)."""
        import httpx
        import msgspec

        from vigil.store import PublishRequest

        body = msgspec.json.encode(PublishRequest(report=report, target=spec, commit=self.ci.commit,
                                                  pipeline_url=self.ci.pipeline_url,
                                                  source=source or self.ci.provider or "cli"))
        try:
            resp = self.client.post(self.url + "/v1/reports", content=body, headers=self.headers)
        except httpx.HTTPError as e:
            return None, f"cannot reach the report store at {_shown(self.url)}: {type(e).__name__}: {e}", True
        if resp.status_code == 201:
            try:
                return dict(resp.json()), "", False
            except ValueError:
                return {}, "", False
        try:
            why = str(resp.json().get("Error", ""))
        except (ValueError, AttributeError):
            why = resp.text[:200]
        return None, (f"the report store at {_shown(self.url)} refused the report: HTTP {resp.status_code} "
                      f"{why}"), resp.status_code in (401, 403, 404, 405, 503)

    def close(self) -> None:
        self.client.close()


def _problem(problem: str, required: bool) -> None:
    if required:
        fail(printable(problem))
    click.echo(printable("WARNING: " + problem + " (the scan's result stands; --publish-required makes this "
                         "an error)"), err=True)


def publish_report(report: Report, values: dict[str, Any], *, scanned: Path | None = None, target: Any = None,
                   source: str = "") -> None:
    """Publish when --publish/VIGIL_PUBLISH is set. `scanned`: the directory or file scanned (its git checkout
    names the repository outside CI); `target`: a vigil.store.TargetSpec to start from."""
    url = str(values.get("publish") or "").rstrip("/")
    if not url:
        return
    ci = detect(os.environ, git_info(scanned) if scanned is not None and scanned.exists() else None)
    pub = _Publisher(url, values, ci)
    try:
        got, problem, _ = pub.send(report, pub.spec(target), source)
    finally:
        pub.close()
    if got is not None:
        if not values.get("quiet"):
            click.echo(f"published to {_shown(url)}: target {got.get('target_id')}, scan {got.get('scan_id')} "
                       f"({got.get('new')} new, {got.get('fixed')} fixed)", err=True)
        return
    _problem(problem, bool(values.get("publish_required")))


def resource_reports(cluster: Any, cluster_name: str = "") -> list[tuple[Report, Any]]:
    """A cluster scan (vigil.findings.cluster.ClusterReport) as one report per resource, each with its target:
    the workload cluster/namespace/Kind/name (`cluster_name` in place of the kubeconfig's). Every resource is sent, those without findings too: a finding gone
    from a workload must be marked fixed in its history. The images a workload runs give the report's digests and
    tags, so "where does the image with this digest run" finds the workload."""
    from vigil.findings.records import Metadata
    from vigil.store import TargetSpec

    out: list[tuple[Report, Any]] = []
    for r in cluster.resources:
        digests = tuple(dict.fromkeys(f"{i.image.rsplit('@', 1)[0]}@{i.digest}" for i in r.images if i.digest))
        tags = tuple(dict.fromkeys(i.image for i in r.images if i.image and "@" not in i.image))
        warnings = (f"{r.kind}/{r.name}: {r.error}",) if r.error else ()
        report = Report(vigil_version=cluster.vigil_version, created_at=cluster.created_at,
                        artifact_name=f"{r.namespace}/{r.kind}/{r.name}" if r.namespace else f"{r.kind}/{r.name}",
                        artifact_type="container_image" if r.images else "filesystem",
                        metadata=Metadata(repo_digests=digests, repo_tags=tags, warnings=warnings),
                        results=r.results)
        out.append((report, TargetSpec(cluster=cluster_name or cluster.cluster_name, namespace=r.namespace,
                                       workload=f"{r.kind}/{r.name}")))
    return out


def publish_cluster(cluster: Any, values: dict[str, Any]) -> None:
    """`vigil k8s --publish`: each resource of the cluster scan to its own workload target (source "k8s"). A store
    that is down is found at the first resource and named once, not once per resource; a refusal of one report
    (too large, say) does not stop the others, and the warning counts what was not published."""
    url = str(values.get("publish") or "").rstrip("/")
    if not url:
        return
    ci = detect(os.environ, None)
    pub = _Publisher(url, values, ci)
    # --publish-name names the cluster (a kubeconfig's cluster is often an API server URL): each resource keeps
    # its own name under it, and the same name from every run (or from the operator) lands on the same targets
    cluster_name = pub.name
    pub.name = ""
    items = resource_reports(cluster, cluster_name)
    done = 0
    problems: list[str] = []
    try:
        for report, spec in items:
            got, problem, fatal = pub.send(report, pub.spec(spec), "k8s")
            if got is not None:
                done += 1
                continue
            problems.append(problem)
            if fatal:
                break
    finally:
        pub.close()
    if not problems:
        if not values.get("quiet"):
            click.echo(f"published {done} resources of {cluster_name or cluster.cluster_name} to {_shown(url)}",
                       err=True)
        return
    first = problems[0]
    more = f" ({len(problems) - 1} more refused)" if len(problems) > 1 else ""
    _problem(f"{len(items) - done} of {len(items)} resources not published: {first}{more}",
             bool(values.get("publish_required")))
