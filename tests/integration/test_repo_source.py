"""The git repository source (vigil.sources.repo) against real repositories made with the git CLI in tmp_path.

No network: remotes are local paths, file:// URLs, a dumb-HTTP server on 127.0.0.1 (which refuses shallow
fetches, so it exercises the full-fetch fallbacks, and can demand Basic auth), a socket that never answers (the
timeout) and a closed port. Expected commits come from `git rev-parse` on the upstream, never from the module.
"""

from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from vigil.errors import UserError
from vigil.sources.repo import Checkout, RepoError, RepoSpec, checkout, mask_credentials


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return env


def git(*args: str | Path, cwd: Path | None = None) -> str:
    res = subprocess.run(
        ["git", *map(str, args)], cwd=cwd, env=_git_env(), capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, f"git {args}: {res.stderr}"
    return res.stdout.strip()


def commit_file(repo: Path, name: str, content: str, message: str) -> str:
    (repo / name).write_text(content)
    git("add", name, cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


@dataclass
class Upstream:
    path: Path
    sha: dict[str, str] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    """trunk (default): zero -> one -> two -> three; feature: two -> feat. Tags: v-light (lightweight) at one,
    v2 (annotated) at two. file.txt holds the name of its commit."""
    path = tmp_path / "upstream"
    git("init", "-q", "-b", "trunk", path)
    up = Upstream(path)
    # a root commit first, so that every named commit has a parent (a non-shallow fetch then shows)
    up.sha["zero"] = commit_file(path, "file.txt", "zero\n", "zero")
    up.sha["one"] = commit_file(path, "file.txt", "one\n", "one")
    git("tag", "v-light", cwd=path)
    up.sha["two"] = commit_file(path, "file.txt", "two\n", "two")
    git("tag", "-a", "v2", "-m", "annotated", cwd=path)
    git("checkout", "-q", "-b", "feature", cwd=path)
    up.sha["feat"] = commit_file(path, "file.txt", "feat\n", "feat")
    git("checkout", "-q", "trunk", cwd=path)
    up.sha["three"] = commit_file(path, "file.txt", "three\n", "three")
    return up


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    d = tmp_path / "dest"
    d.mkdir()
    return d


def content(co: Checkout) -> str:
    return (co.path / "file.txt").read_text()


def history_length(dest: Path) -> int:
    return int(git(f"--git-dir={dest / 'git'}", "rev-list", "--count", "HEAD"))


def error_of(spec: RepoSpec, dest: Path, **kw: Any) -> str:
    with pytest.raises(RepoError) as info:
        checkout(spec, dest, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    assert isinstance(info.value, UserError)
    return msg


# --- refs -----------------------------------------------------------------------------------------------------


def test_default_branch_is_checked_out_shallow_with_its_name(upstream: Upstream, dest: Path) -> None:
    co = checkout(RepoSpec(str(upstream.path)), dest)
    assert content(co) == "three\n"
    assert co.commit == upstream.sha["three"]
    assert co.ref == "trunk"
    assert co.url == str(upstream.path)
    assert co.path.parent == dest
    assert not (co.path / ".git").exists()  # the scanned tree holds only the committed files
    assert history_length(dest) == 1


def test_branch(upstream: Upstream, dest: Path) -> None:
    co = checkout(RepoSpec(str(upstream.path), branch="feature"), dest)
    assert (content(co), co.commit, co.ref) == ("feat\n", upstream.sha["feat"], "feature")
    assert history_length(dest) == 1


@pytest.mark.parametrize(("tag", "expected"), [("v-light", "one"), ("v2", "two")])
def test_lightweight_and_annotated_tags(upstream: Upstream, dest: Path, tag: str, expected: str) -> None:
    co = checkout(RepoSpec(str(upstream.path), tag=tag), dest)
    assert content(co) == f"{expected}\n"
    assert co.commit == upstream.sha[expected]  # the commit, not the annotated tag object
    assert co.ref == tag
    assert history_length(dest) == 1


def test_branch_and_tag_of_the_same_name_are_not_confused(
    upstream: Upstream, dest: Path, tmp_path: Path
) -> None:
    git("branch", "same", upstream.sha["feat"], cwd=upstream.path)
    git("tag", "same", upstream.sha["one"], cwd=upstream.path)
    assert checkout(RepoSpec(str(upstream.path), tag="same"), dest).commit == upstream.sha["one"]
    other = tmp_path / "dest2"
    other.mkdir()
    assert checkout(RepoSpec(str(upstream.path), branch="same"), other).commit == upstream.sha["feat"]


def test_full_sha_of_a_non_tip_commit_is_fetched_shallow(upstream: Upstream, dest: Path) -> None:
    co = checkout(RepoSpec(str(upstream.path), commit=upstream.sha["one"].upper()), dest)
    assert (content(co), co.commit, co.ref) == ("one\n", upstream.sha["one"], "")
    assert history_length(dest) == 1


def test_abbreviated_sha(upstream: Upstream, dest: Path) -> None:
    co = checkout(RepoSpec(str(upstream.path), commit=upstream.sha["feat"][:7]), dest)
    assert (content(co), co.commit, co.ref) == ("feat\n", upstream.sha["feat"], "")


# --- locations ------------------------------------------------------------------------------------------------


def test_bare_repository(upstream: Upstream, dest: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git("clone", "-q", "--bare", upstream.path, bare)
    co = checkout(RepoSpec(str(bare)), dest)
    assert (content(co), co.commit, co.ref) == ("three\n", upstream.sha["three"], "trunk")


def test_working_tree_uncommitted_files_are_not_checked_out(upstream: Upstream, dest: Path) -> None:
    (upstream.path / "file.txt").write_text("modified\n")
    (upstream.path / "untracked.txt").write_text("x\n")
    (upstream.path / "staged.txt").write_text("x\n")
    git("add", "staged.txt", cwd=upstream.path)
    co = checkout(RepoSpec(str(upstream.path)), dest)
    assert content(co) == "three\n"
    assert sorted(p.name for p in co.path.iterdir()) == ["file.txt"]


def test_relative_local_path(upstream: Upstream, dest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(upstream.path.parent)
    co = checkout(RepoSpec("upstream", branch="feature"), dest)
    assert (content(co), co.url) == ("feat\n", "upstream")


def test_file_url(upstream: Upstream, dest: Path) -> None:
    url = f"file://{upstream.path}"
    co = checkout(RepoSpec(url, branch="feature"), dest)
    assert (content(co), co.commit, co.url) == ("feat\n", upstream.sha["feat"], url)


def test_detached_remote_head_gives_empty_ref(upstream: Upstream, dest: Path) -> None:
    git("checkout", "-q", "--detach", upstream.sha["two"], cwd=upstream.path)
    co = checkout(RepoSpec(str(upstream.path)), dest)
    assert (content(co), co.ref) == ("two\n", "")


def test_symlinks_stay_symlinks(upstream: Upstream, dest: Path) -> None:
    (upstream.path / "passwd").symlink_to("/etc/passwd")
    git("add", "passwd", cwd=upstream.path)
    git("commit", "-q", "-m", "link", cwd=upstream.path)
    co = checkout(RepoSpec(str(upstream.path)), dest)
    assert (co.path / "passwd").is_symlink()
    assert os.readlink(co.path / "passwd") == "/etc/passwd"


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name"),
    [("branch", "nope"), ("tag", "nope"), ("commit", "0123456789" * 4), ("commit", "0123456")],
)
def test_missing_ref_is_named(upstream: Upstream, dest: Path, kind: str, name: str) -> None:
    msg = error_of(RepoSpec(str(upstream.path), **{kind: name}), dest)
    assert f"{kind} " in msg
    assert name in msg
    assert "not found" in msg


def test_empty_repository(tmp_path: Path, dest: Path) -> None:
    empty = tmp_path / "empty"
    git("init", "-q", empty)
    assert "has no commits" in error_of(RepoSpec(str(empty)), dest)


@pytest.mark.parametrize("kind", ["plain directory", "file", "missing path", "word"])
def test_not_a_repository(tmp_path: Path, dest: Path, kind: str) -> None:
    location = {
        "plain directory": tmp_path / "plain",
        "file": tmp_path / "afile",
        "missing path": tmp_path / "no" / "such",
        "word": "not-a-repo",
    }[kind]
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.txt").write_text("x")
    (tmp_path / "afile").write_text("x")
    msg = error_of(RepoSpec(str(location)), dest)
    assert msg == f"{location} is not a git repository or URL"


@pytest.mark.parametrize(
    "spec",
    [
        RepoSpec("x", branch="a", tag="b"),
        RepoSpec("x", tag="b", commit="abcd"),
        RepoSpec("x", commit="not-hex"),
        RepoSpec("x", commit="abc"),
        RepoSpec("x", branch="a..b"),
        RepoSpec("x", tag="has space"),
        RepoSpec("x", branch="--upload-pack=touch /tmp/vigil-pwned"),
    ],
)
def test_invalid_refs_are_refused(upstream: Upstream, dest: Path, spec: RepoSpec) -> None:
    spec = RepoSpec(str(upstream.path), spec.branch, spec.tag, spec.commit)
    error_of(spec, dest)
    assert not any(dest.iterdir())  # refused before anything was fetched


def test_option_like_location_is_refused(tmp_path: Path, dest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.chdir(tmp_path)
    location = "--upload-pack=touch pwned"
    Path(location).mkdir()  # even an existing directory of that name: git would read it as an option
    msg = error_of(RepoSpec(location), dest)
    assert "starts with '-'" in msg
    assert not marker.exists()


@pytest.mark.parametrize("location", ["ext::sh -c touch% {marker}", "fd::3", "EXT::sh -c touch% {marker}"])
def test_remote_helper_transports_are_refused(tmp_path: Path, dest: Path, location: str) -> None:
    marker = tmp_path / "pwned"
    msg = error_of(RepoSpec(location.format(marker=marker)), dest)
    assert "not supported" in msg
    assert not marker.exists()


def test_unsupported_scheme(dest: Path) -> None:
    assert "unsupported URL scheme ftp://" in error_of(RepoSpec("ftp://example.com/x.git"), dest)


def test_credentials_are_masked_in_errors(dest: Path) -> None:
    msg = error_of(RepoSpec("https://user:secret@127.0.0.1:9/x.git"), dest, timeout=20)
    assert "secret" not in msg
    assert "user" not in msg
    assert "https://127.0.0.1:9/x.git" in msg


def test_timeout_kills_a_hanging_fetch(dest: Path) -> None:
    with socket.socket() as srv:  # accepts connections (backlog) and never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        msg = error_of(RepoSpec(f"http://127.0.0.1:{port}/x.git"), dest, timeout=1.5)
    # the message says the call was killed at its own timeout (the server never answers, so nothing else ends it)
    assert "timed out after 1.5s" in msg


def test_mask_credentials() -> None:
    text = "a https://u:p%40ss@h:1/x b http://TOKEN@h/y c ssh://git:pw@h/z d git@h:o/r"
    assert mask_credentials(text) == "a https://h:1/x b http://h/y c ssh://git@h/z d git@h:o/r"


# --- dumb HTTP: no shallow fetch (fallbacks), optional Basic auth ---------------------------------------------


@dataclass
class HttpRepo:
    url: str
    authorizations: list[str]


class _Handler(SimpleHTTPRequestHandler):
    credentials: str = ""  # "user:password" to demand, or "" for none
    seen: list[str]

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.seen.append(auth)
        expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        if self.credentials and auth != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(upstream: Upstream, tmp_path: Path, credentials: str) -> Iterator[HttpRepo]:
    root = tmp_path / "www"
    root.mkdir()
    git("clone", "-q", "--bare", upstream.path, root / "r.git")
    git("update-server-info", cwd=root / "r.git")
    seen: list[str] = []
    handler = type("H", (_Handler,), {"credentials": credentials, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpRepo(f"http://127.0.0.1:{server.server_address[1]}/r.git", seen)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dumb_http(upstream: Upstream, tmp_path: Path) -> Iterator[HttpRepo]:
    yield from _serve(upstream, tmp_path, "")


@pytest.fixture
def dumb_http_auth(upstream: Upstream, tmp_path: Path) -> Iterator[HttpRepo]:
    yield from _serve(upstream, tmp_path, "user:s3cr3t-pw")


@pytest.mark.parametrize(
    ("spec", "expected", "ref"),
    [
        (RepoSpec(""), "three", "trunk"),
        (RepoSpec("", branch="feature"), "feat", "feature"),
        (RepoSpec("", tag="v2"), "two", "v2"),
        (RepoSpec("", commit="{one}"), "one", ""),
    ],
)
def test_server_refusing_shallow_fetch_falls_back_to_full(
    upstream: Upstream, dumb_http: HttpRepo, dest: Path, spec: RepoSpec, expected: str, ref: str
) -> None:
    spec = RepoSpec(dumb_http.url, spec.branch, spec.tag, spec.commit.format(**upstream.sha))
    co = checkout(spec, dest)
    assert (content(co), co.commit, co.ref, co.url) == (
        f"{expected}\n",
        upstream.sha[expected],
        ref,
        dumb_http.url,
    )


def test_credentials_reach_the_server_but_not_argv_or_disk(
    upstream: Upstream, dumb_http_auth: HttpRepo, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argvs: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(argv: list[str], **kw: Any) -> Any:
        argvs.append(list(argv))
        return real_popen(argv, **kw)

    monkeypatch.setattr("vigil.sources.repo.subprocess.Popen", recording_popen)
    url = dumb_http_auth.url.replace("http://", "http://user:s3cr3t-pw@")
    co = checkout(RepoSpec(url, branch="feature"), dest)
    assert content(co) == "feat\n"
    assert co.url == dumb_http_auth.url
    good = "Basic " + base64.b64encode(b"user:s3cr3t-pw").decode()
    assert good in dumb_http_auth.authorizations
    assert argvs and not any("s3cr3t" in arg for argv in argvs for arg in argv)
    for p in dest.rglob("*"):
        if p.is_file() and not p.is_symlink():
            assert b"s3cr3t" not in p.read_bytes(), p


def test_wrong_credentials_give_a_masked_error(dumb_http_auth: HttpRepo, dest: Path) -> None:
    url = dumb_http_auth.url.replace("http://", "http://user:wrong-pw@")
    msg = error_of(RepoSpec(url), dest, timeout=30)
    assert "wrong-pw" not in msg
    assert dumb_http_auth.url in msg
    assert any(a.startswith("Basic ") for a in dumb_http_auth.authorizations)  # offered, refused, no prompt


# --- nothing from submodules, hooks or the user's config ------------------------------------------------------


def test_submodules_are_not_fetched(upstream: Upstream, dest: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    git("init", "-q", sub)
    commit_file(sub, "inner.txt", "inner\n", "inner")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "vendored", cwd=upstream.path)
    git("commit", "-q", "-m", "submodule", cwd=upstream.path)
    assert (upstream.path / "vendored" / "inner.txt").exists()  # the upstream itself has it checked out
    co = checkout(RepoSpec(str(upstream.path)), dest)
    assert (co.path / ".gitmodules").is_file()
    assert (co.path / "vendored").is_dir()
    assert not any((co.path / "vendored").iterdir())


def test_hooks_from_the_users_config_and_templates_do_not_run(
    upstream: Upstream, dest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hook-ran"
    template = tmp_path / "template"
    (template / "hooks").mkdir(parents=True)
    hook = template / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        f"[init]\n\ttemplateDir = {template}\n[core]\n\thooksPath = {template}/hooks\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(template))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    monkeypatch.delenv("GIT_CONFIG_NOSYSTEM", raising=False)

    # Control: a plain clone with this environment does run the hook.
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")}
    subprocess.run(["git", "clone", "-q", str(upstream.path), str(tmp_path / "control")], env=env, check=True)
    assert marker.exists()
    marker.unlink()

    checkout(RepoSpec(str(upstream.path)), dest)
    other = tmp_path / "dest2"
    other.mkdir()
    checkout(RepoSpec(str(upstream.path), commit=upstream.sha["two"]), other)
    assert not marker.exists()


@pytest.mark.parametrize("where", ["global config", "environment"])
def test_the_callers_git_config_is_not_read(
    upstream: Upstream, dest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """An insteadOf rewrite pointing the location at another repository, from ~/.gitconfig or from
    GIT_CONFIG_COUNT in the caller's environment, is ignored."""
    decoy = tmp_path / "decoy"
    git("init", "-q", "-b", "trunk", decoy)
    commit_file(decoy, "file.txt", "decoy\n", "decoy")
    location = f"file://{upstream.path}"
    if where == "global config":
        home = tmp_path / "home"
        home.mkdir()
        (home / ".gitconfig").write_text(f'[url "file://{decoy}"]\n\tinsteadOf = {location}\n')
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    else:
        monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
        monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{decoy}.insteadOf")
        monkeypatch.setenv("GIT_CONFIG_VALUE_0", location)
    control = subprocess.run(
        ["git", "ls-remote", location, "HEAD"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    assert git("rev-parse", "HEAD", cwd=decoy) in control.stdout  # the rewrite is effective for plain git
    co = checkout(RepoSpec(location), dest)
    assert content(co) == "three\n"
