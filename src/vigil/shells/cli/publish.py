"""`--publish URL`: send the report the user sees to a `vigil server`'s report store.

A store that cannot take the report never fails the scan (a warning; the exit code is the scan's) unless
--publish-required, then it is one line and exit 2. Every command that produces a report calls publish_report once
it has rendered it; a command with its own idea of the target (`vigil k8s`: cluster/namespace/workload) passes
`target` and `source`."""

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


def publish_report(report: Report, values: dict[str, Any], *, scanned: Path | None = None, target: Any = None,
                   source: str = "") -> None:
    """Publish when --publish/VIGIL_PUBLISH is set. `scanned`: the directory or file scanned (its git checkout
    names the repository outside CI); `target`: a vigil.store.TargetSpec to start from (`vigil k8s`)."""
    url = str(values.get("publish") or "").rstrip("/")
    if not url:
        return
    import httpx
    import msgspec

    from vigil.store import PublishRequest, TargetSpec

    required = bool(values.get("publish_required"))
    labels = parse_labels(values.get("publish_label"))
    ci = detect(os.environ, git_info(scanned) if scanned is not None and scanned.exists() else None)
    spec: TargetSpec = target or TargetSpec()
    spec = msgspec.structs.replace(
        spec, name=str(values.get("publish_name") or spec.name),
        repository=spec.repository or ci.repository, branch=spec.branch or ci.branch,
        labels={**spec.labels, **labels})
    body = msgspec.json.encode(PublishRequest(report=report, target=spec, commit=ci.commit,
                                              pipeline_url=ci.pipeline_url, source=source or ci.provider or "cli"))
    token = str(values.get("publish_token") or "")
    headers = {"Content-Type": "application/json"}
    if token:
        headers[str(values.get("token_header") or "Vigil-Token")] = token
    try:
        resp = httpx.post(url + "/v1/reports", content=body, headers=headers, timeout=PUBLISH_TIMEOUT)
    except httpx.HTTPError as e:
        problem = f"cannot reach the report store at {_shown(url)}: {type(e).__name__}: {e}"
    else:
        if resp.status_code == 201:
            if not values.get("quiet"):
                r = resp.json()
                click.echo(f"published to {_shown(url)}: target {r.get('target_id')}, scan {r.get('scan_id')} "
                           f"({r.get('new')} new, {r.get('fixed')} fixed)", err=True)
            return
        try:
            why = str(resp.json().get("Error", ""))
        except ValueError:
            why = resp.text[:200]
        problem = f"the report store at {_shown(url)} refused the report: HTTP {resp.status_code} {why}"
    if required:
        fail(printable(problem))
    click.echo(printable("WARNING: " + problem + " (the scan's result stands; --publish-required makes this "
                         "an error)"), err=True)
