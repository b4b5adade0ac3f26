"""Where a report comes from: repository, branch, commit and pipeline URL, from the CI system's own variables
(GitHub Actions, GitLab CI, Jenkins), else from the git checkout (read by the caller and handed in)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class CIInfo:
    provider: str = ""  # github | gitlab | jenkins | git | ""
    repository: str = ""  # host/owner/name: the same for a clone URL, an SSH remote and the CI's web URL
    branch: str = ""
    commit: str = ""
    pipeline_url: str = ""


_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")  # git@github.com:owner/repo.git


def normalize_repository(url: str) -> str:
    """`https://user:token@github.com/o/r.git`, `git@github.com:o/r.git` and `ssh://git@github.com/o/r` are all
    `github.com/o/r`. Credentials never survive: the result is shown in the web UI."""
    url = url.strip()
    if not url:
        return ""
    if "://" in url:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port and parts.scheme not in ("ssh", "git", "https", "http"):
            host += f":{parts.port}"
        path = parts.path
    else:
        m = _SCP.match(url)
        if not m:
            return url.removesuffix(".git").rstrip("/")
        host, path = m.group(1), m.group(2)
    path = path.strip("/").removesuffix(".git")
    return f"{host.lower()}/{path}" if host else path


def _get(env: Mapping[str, str], *names: str) -> str:
    for n in names:
        v = env.get(n, "")
        if v:
            return v
    return ""


def detect(env: Mapping[str, str], git: CIInfo | None = None) -> CIInfo:
    """The CI system's view when one is detected (its variables name the branch even on a detached checkout),
    else the git checkout's (`git`), else nothing."""
    if env.get("GITHUB_ACTIONS") == "true":
        server = _get(env, "GITHUB_SERVER_URL") or "https://github.com"
        repo = _get(env, "GITHUB_REPOSITORY")
        run = _get(env, "GITHUB_RUN_ID")
        return CIInfo(provider="github", repository=normalize_repository(f"{server}/{repo}") if repo else "",
                      branch=_get(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME"), commit=_get(env, "GITHUB_SHA"),
                      pipeline_url=f"{server}/{repo}/actions/runs/{run}" if repo and run else "")
    if env.get("GITLAB_CI") == "true":
        return CIInfo(provider="gitlab", repository=normalize_repository(_get(env, "CI_PROJECT_URL")),
                      branch=_get(env, "CI_COMMIT_BRANCH", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
                                  "CI_COMMIT_REF_NAME"),
                      commit=_get(env, "CI_COMMIT_SHA"), pipeline_url=_get(env, "CI_PIPELINE_URL"))
    if env.get("JENKINS_URL"):
        branch = _get(env, "BRANCH_NAME", "GIT_LOCAL_BRANCH", "GIT_BRANCH")
        return CIInfo(provider="jenkins", repository=normalize_repository(_get(env, "GIT_URL")),
                      branch=branch.removeprefix("origin/"), commit=_get(env, "GIT_COMMIT"),
                      pipeline_url=_get(env, "BUILD_URL"))
    if git is not None:
        return CIInfo(provider="git", repository=normalize_repository(git.repository), branch=git.branch,
                      commit=git.commit)
    return CIInfo()
