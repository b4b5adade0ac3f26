"""`--publish URL`: real `vigil` scans send their report to a real `vigil server`; CI metadata from GitHub
Actions, GitLab CI, Jenkins variables or the git checkout; a store that is down does not change the exit code
unless --publish-required."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.cli_helpers import run
from tests.integration.test_server import Server, start_server
from tests.store_helpers import free_port

from vigil.store.ci import CIInfo, detect, normalize_repository

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-project"
TOKEN = "publish-token"
# the CI variables of whatever runs these tests must not leak into the scans
NO_CI = {"GITHUB_ACTIONS": "", "GITLAB_CI": "", "JENKINS_URL": ""}


@pytest.fixture(scope="module")
def store_server(tmp_path_factory: pytest.TempPathFactory, fixture_db: Path) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("publish")
    shutil.copy2(fixture_db, tmp / "vigil.db")
    (tmp / "token").write_text(TOKEN)
    s = start_server(tmp, tmp / "vigil.db", "--token-file", str(tmp / "token"), "--cache-backend", "memory")
    yield s
    s.stop()


def scan(db: Path, *args: str, env: dict[str, str] | None = None, target: Path = DEMO) -> subprocess.CompletedProcess[str]:
    return run("fs", str(target), "--db-path", str(db), "--skip-db-update", "--format", "json", "--quiet",
               *args, env={**NO_CI, **(env or {})})


def targets(s: Server, **params: str) -> list[dict]:
    return httpx.get(s.url + "/v1/targets", params=params, headers={"Vigil-Token": TOKEN}, timeout=10).json()["items"]


def test_fs_publishes_with_github_actions_metadata(store_server: Server) -> None:
    gh = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop",
          "GITHUB_REF_NAME": "main", "GITHUB_SHA": "a" * 40, "GITHUB_RUN_ID": "42", "VIGIL_PUBLISH_TOKEN": TOKEN}
    r = scan(store_server.db, "--publish", store_server.url, "--publish-label", "team=shop", "--exit-code", "1",
             env={**gh, "VIGIL_PUBLISH_LABEL": ""})
    assert r.returncode == 1, r.stderr  # the scan's own exit code (findings) stands
    got = targets(store_server, q="acme/shop")
    assert [t["name"] for t in got] == ["github.com/acme/shop@main"]
    t = got[0]
    assert t["kind"] == "repository" and t["branch"] == "main" and t["labels"] == {"team": "shop"}
    scans = httpx.get(f"{store_server.url}/v1/targets/{t['id']}/scans", headers={"Vigil-Token": TOKEN}).json()
    s = scans["items"][0]
    assert s["commit"] == "a" * 40 and s["pipeline_url"] == "https://github.com/acme/shop/actions/runs/42"
    assert s["source"] == "github"
    # what was published is the report the user saw
    assert sum(t["open"].values()) == len(httpx.get(f"{store_server.url}/v1/findings", params={
        "target_id": t["id"], "limit": 1000}, headers={"Vigil-Token": TOKEN}).json()["items"])


def test_publish_name_and_env(store_server: Server, tmp_path: Path) -> None:
    # a copy outside any git checkout: inside one with an origin remote (a CI clone of this repository) the
    # target would be that repository's branch, which test_git_checkout_names_the_repository covers
    plain = tmp_path / "demo"
    shutil.copytree(DEMO, plain)
    r = scan(store_server.db, "--publish-name", "demo by name",
             env={"VIGIL_PUBLISH": store_server.url, "VIGIL_PUBLISH_TOKEN": TOKEN}, target=plain)
    assert r.returncode == 0, r.stderr
    assert [t["kind"] for t in targets(store_server, q="demo by name")] == ["filesystem"]


def test_git_checkout_names_the_repository(store_server: Server, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DEMO, repo)
    git = ["git", "-C", str(repo), "-c", "user.email=t@e", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "feature/x"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://bot:secret@git.example.com/team/app.git"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    r = scan(store_server.db, "--publish", store_server.url, env={"VIGIL_PUBLISH_TOKEN": TOKEN}, target=repo)
    assert r.returncode == 0, r.stderr
    got = targets(store_server, q="team/app")
    assert [t["name"] for t in got] == ["git.example.com/team/app@feature/x"]  # no credentials
    assert "secret" not in str(got)


def test_a_store_that_is_down_is_a_warning(store_server: Server) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    r = scan(store_server.db, "--publish", down, "--exit-code", "3")
    assert r.returncode == 3
    assert "WARNING: cannot reach the report store" in r.stderr and "Traceback" not in r.stderr
    r = scan(store_server.db, "--publish", down, "--publish-required")
    assert r.returncode == 2 and "cannot reach the report store" in r.stderr and "Traceback" not in r.stderr
    r = scan(store_server.db, "--publish", store_server.url, "--publish-required")  # no token: refused
    assert r.returncode == 2 and "HTTP 401" in r.stderr
    r = scan(store_server.db, "--publish", store_server.url, "--publish-label", "novalue")
    assert r.returncode == 2 and "invalid --publish-label" in r.stderr


def test_an_untrusted_config_file_cannot_redirect_reports(store_server: Server, tmp_path: Path) -> None:
    proj = tmp_path / "p"
    shutil.copytree(DEMO, proj)
    (proj / "vigil.yaml").write_text(f"publish:\n  url: {store_server.url}\n  token: {TOKEN}\n  name: hijack\n")
    r = run("fs", ".", "--db-path", str(store_server.db), "--skip-db-update", "--quiet", cwd=proj, env=NO_CI)
    assert r.returncode == 0, r.stderr
    assert targets(store_server, q="hijack") == []


def test_ci_detection() -> None:
    assert detect({"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.com/g/p", "CI_COMMIT_BRANCH": "dev",
                   "CI_COMMIT_SHA": "b" * 40, "CI_PIPELINE_URL": "https://gitlab.com/g/p/-/pipelines/7"}) == CIInfo(
        provider="gitlab", repository="gitlab.com/g/p", branch="dev", commit="b" * 40,
        pipeline_url="https://gitlab.com/g/p/-/pipelines/7")
    assert detect({"JENKINS_URL": "https://ci/", "GIT_URL": "git@github.com:o/r.git", "GIT_BRANCH": "origin/main",
                   "GIT_COMMIT": "c", "BUILD_URL": "https://ci/job/1/"}) == CIInfo(
        provider="jenkins", repository="github.com/o/r", branch="main", commit="c", pipeline_url="https://ci/job/1/")
    assert detect({"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_HEAD_REF": "pr-branch",
                   "GITHUB_REF_NAME": "1/merge"}).branch == "pr-branch"
    assert detect({}, CIInfo(repository="ssh://git@host:2222/o/r.git", branch="b")).repository == "host/o/r"
    assert detect({}) == CIInfo()
    for url in ("https://github.com/o/r", "https://u:p@github.com/o/r.git", "git@github.com:o/r.git",
                "ssh://git@github.com/o/r"):
        assert normalize_repository(url) == "github.com/o/r"
