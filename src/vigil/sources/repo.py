"""Git repository source: check out one commit of a local or remote repository into a directory we own.

`checkout(RepoSpec(location, branch=/tag=/commit=), dest)` fetches exactly one commit and writes its tree to
`dest/worktree`; the scan then walks that directory like any other filesystem target.

Why the git CLI (through subprocess) and not a library: git is already on every machine that has repositories,
it speaks every transport and auth scheme (https with proxies and CAs, ssh with the user's agent and
known_hosts), and it avoids a dependency (dulwich is not installed). The price is that git is a powerful program
that reads configuration from many places and can run other programs; everything below keeps it to "fetch
objects, write files".

Safety choices, and why:

* Sanitized environment. Every `GIT_*` variable of the caller is dropped (a `GIT_DIR` or `GIT_INDEX_FILE`
  inherited from a hook would redirect our commands; `GIT_CONFIG_PARAMETERS`/`GIT_CONFIG_COUNT` would inject
  config) except the few that only choose how the user authenticates (`GIT_SSH*`, `GIT_SSL_CA*`).
  `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_SYSTEM=/dev/null` and `GIT_CONFIG_GLOBAL=/dev/null` make git ignore
  /etc/gitconfig, ~/.gitconfig and ~/.config/git/config: those can name hooks directories, templates with hooks,
  `insteadOf` rewrites, filter drivers (LFS smudge) and credential helpers, none of which a scan should run.
  Proxies still work (curl reads `HTTPS_PROXY`/`NO_PROXY` itself).
* Never block on a prompt. `GIT_TERMINAL_PROMPT=0`, an empty `GIT_ASKPASS` and `core.askPass` (empty, so git
  does not fall back to `SSH_ASKPASS` either; that one is removed too), stdin from /dev/null, and
  `ssh -o BatchMode=yes` unless the user chose their own ssh command: a missing password or an unknown host
  key is an error, not a hang.
* Nothing runs from the repository or from templates. `core.hooksPath=/dev/null` (no hook can be found there,
  so post-checkout and friends never run), `--template=` (empty: no template directory is copied, so no hooks
  arrive that way), `core.fsmonitor=false` (a configured fsmonitor is a command git runs). No filter drivers are
  configured anywhere we read, so `.gitattributes` in the tree cannot run a smudge filter (LFS objects stay as
  pointer files; `GIT_LFS_SKIP_SMUDGE=1` as well, in case git-lfs is reached some other way).
* No submodules. Nothing is cloned recursively and `submodule.recurse=false`/`fetch.recurseSubmodules=false`
  are set, so a `.gitmodules` in the tree cannot make us contact another host; the submodule directory is
  checked out empty.
* Only the transports a location needs. `GIT_ALLOW_PROTOCOL` is set to the location's own transport (http and
  https together, for redirects), which also forbids `ext::` (runs an arbitrary command) and `fd::`; we also
  refuse every `transport::address` location up front and set `protocol.ext.allow=never`.
* No argument injection. Locations and branch/tag names starting with "-" are refused (`--upload-pack=...` would
  run a command), a commit must be hexadecimal, branch and tag names must pass `git check-ref-format`, control
  characters are refused, and `--` precedes every positional argument. A local path is handed to git as an
  absolute path, so a ':' in it cannot turn it into an ssh location.
* Credentials stay out of argv and out of files. `https://user:token@host/...` is passed to git without the
  user info (command lines are world-readable through /proc); the credentials reach git through a credential
  helper that is configured in the environment (`GIT_CONFIG_COUNT`), scoped to that scheme://host:port, and
  reads them from environment variables. The same stripped URL is what `Checkout.url` reports and what error
  messages show, and git's stderr is masked again before it is shown. For ssh the user name is kept (it is a
  login, not a secret) and a password is dropped.
* Bounded. Each git call has a timeout; on expiry the whole process group (git and its remote helper or ssh)
  is killed. `gc.auto=0` and `maintenance.auto=false` keep git from leaving a background gc running in `dest`.
* Symlinks in the tree are checked out as symlinks (`core.symlinks=true`); the filesystem walker never follows
  them, so a link to /etc/passwd is not read. The git directory lives next to the work tree (`dest/git`), not
  inside it: the scanned directory holds exactly the committed files.

Objects are fetched into a bare repository with `--depth 1` whenever the server allows it (branch, tag, full
commit sha, default branch), and without depth when it does not (dumb http, servers that refuse to fetch an
unadvertised sha); an abbreviated sha can only be resolved after fetching all branches and tags. A branch or tag
is fetched by its full ref name, so a branch and a tag with the same name cannot be confused.

A local path is cloned like a remote (through the pack protocol, not by hard-linking its object directory), also
when it is a working tree and no ref is given: the scan then sees the committed tree of HEAD, not uncommitted or
ignored files (use the filesystem scan for those). This keeps `repo` meaning the same thing for every location.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from vigil.errors import InternalError, UserError
from vigil.log import get_logger

if TYPE_CHECKING:
    from vigil.findings.analysis import ArtifactInfo
    from vigil.sources.base import BlobSpec

log = get_logger(__name__)

DEFAULT_TIMEOUT = 600.0  # seconds per git call; a large repository over a slow link needs minutes

_REMOTE_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCHEME_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_HELPER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")  # git's "<transport>::<address>" remote-helper syntax
_SCP_RE = re.compile(r"^[A-Za-z0-9._~+-]+@(?:[A-Za-z0-9.-]+|\[[^\]/]+\]):.")  # user@host:path
_USERINFO_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@")
_HEX_RE = re.compile(r"^[0-9a-fA-F]{4,64}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_FULL_SHA_LENGTHS = (40, 64)  # sha1, sha256
_SUBCOMMANDS = ("clone", "init", "fetch", "checkout", "rev-parse", "symbolic-ref", "check-ref-format")

# Passed with -c to every git call (the reasons are in the module docstring).
_GIT_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.symlinks=true",
    "core.askPass=",
    "protocol.ext.allow=never",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "fetch.writeCommitGraph=false",
    "init.defaultBranch=main",
    "advice.detachedHead=false",
)
# Caller variables kept although they start with GIT_: they only choose how the user authenticates.
_KEPT_GIT_VARS = ("GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH")
_USER_VAR = "VIGIL_GIT_USERNAME"
_PASSWORD_VAR = "VIGIL_GIT_PASSWORD"
# Answers git's "get" with the two variables above; "store" and "erase" are ignored. Only variable names appear
# in this text (and in the command line of the shell that runs it), never their values.
_CREDENTIAL_HELPER = (
    '!f() { if test "$1" = get; then '
    "printf 'username=%s\\npassword=%s\\n' "
    f'"${_USER_VAR}" "${_PASSWORD_VAR}"; fi; }}; f'
)


@dataclass(frozen=True)
class RepoSpec:
    # a local path (working tree or bare repository) or a URL: https, http, ssh, git, file, or user@host:path
    location: str
    branch: str = ""  # at most one of branch / tag / commit; none: the remote's default branch (HEAD)
    tag: str = ""
    commit: str = ""  # full or abbreviated (at least 4 hex digits) object name


class RepoError(UserError):
    """The repository cannot be checked out as asked (bad location, missing ref, unreachable, refused)."""


@dataclass(frozen=True)
class Checkout:
    path: Path  # the checked-out work tree, dest/worktree (no .git inside)
    commit: str  # the full sha checked out
    ref: str  # branch or tag name; for the default branch its name; "" for a commit or a detached remote HEAD
    url: str  # the location with credentials removed (for the report's ArtifactName)


def mask_credentials(text: str) -> str:
    """`text` with the user info of every scheme://user:pass@ URL in it removed; for ssh the user name is kept
    (a login, not a secret) and only a password is removed. For http(s) a bare user name goes too: tokens are
    commonly given as the user name alone (https://TOKEN@host/...)."""

    def repl(m: re.Match[str]) -> str:
        scheme = m["scheme"]
        if scheme.lower().startswith(("ssh", "git+ssh", "ssh+git")):
            return f"{scheme}{m['userinfo'].partition(':')[0]}@"
        return scheme

    return _USERINFO_RE.sub(repl, text)


@dataclass(frozen=True)
class _Remote:
    url: str  # what git is given: credentials removed, local paths absolute
    display: str  # what the user is shown (Checkout.url, error messages)
    protocols: str  # GIT_ALLOW_PROTOCOL
    credential_scope: str = ""  # scheme://host[:port] the username/password are offered to
    username: str = ""
    password: str = ""


def checkout(spec: RepoSpec, dest: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Checkout:
    """Check out the commit `spec` names into `dest/worktree` (dest: an existing empty directory owned by the
    caller, who also removes it). Raises RepoError for every problem with the location, the ref or the
    transfer; the message is one line and never contains credentials."""
    if not dest.is_dir() or any(dest.iterdir()):
        raise InternalError(f"repo checkout destination {dest} must be an existing empty directory")
    remote = _resolve_location(spec.location)
    git = _Git(remote, dest, timeout)
    _check_refs(spec, git)
    git_dir = dest / "git"
    if spec.branch or spec.tag:
        kind, name = ("branch", spec.branch) if spec.branch else ("tag", spec.tag)
        git.init(git_dir)
        sha = _fetch_ref(git, git_dir, kind, name)
        ref = name
    elif spec.commit:
        git.init(git_dir)
        sha = _fetch_commit(git, git_dir, spec.commit.lower())
        ref = ""
    else:
        sha, ref = _clone_default(git, git_dir)
    work = dest / "worktree"
    work.mkdir()
    in_tree = ["-c", "core.bare=false", f"--git-dir={git_dir}", f"--work-tree={work}"]
    res = git.run([*in_tree, "checkout", "-q", "--detach", sha, "--"])
    if res.rc != 0:
        raise RepoError(f"cannot check out {sha[:12]} from {remote.display}: {git.describe(res)}")
    return Checkout(path=work, commit=sha, ref=ref, url=remote.display)


# --- location and ref validation ------------------------------------------------------------------------------


def _resolve_location(location: str) -> _Remote:
    shown = mask_credentials(location)
    if not location.strip():
        raise RepoError("the repository location is empty")
    if location.startswith("-"):
        raise RepoError(f"{shown!r} is not a valid repository location (it starts with '-')")
    if _CONTROL_RE.search(location):
        raise RepoError(f"{shown!r} is not a valid repository location (it contains control characters)")
    if _HELPER_RE.match(location):
        raise RepoError(f"{shown}: remote-helper transports (such as ext::) are not supported")
    path = Path(location)
    if os.path.lexists(location):
        if not _is_git_repository(path):
            raise RepoError(f"{shown} is not a git repository or URL")
        return _Remote(url=str(path.resolve()), display=location, protocols="file")
    m = _SCHEME_RE.match(location)
    if m:
        return _remote_url(location, m["scheme"].lower(), shown)
    if _SCP_RE.match(location):
        return _Remote(url=location, display=location, protocols="ssh")
    raise RepoError(f"{shown} is not a git repository or URL")


def _is_git_repository(path: Path) -> bool:
    """A working tree (has .git, a directory or a gitfile) or a bare repository (git's own test: HEAD, objects/
    and refs/). Checked here rather than by running git inside a directory we do not trust yet."""
    if not path.is_dir():
        return False
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _remote_url(location: str, scheme: str, shown: str) -> _Remote:
    if scheme not in _REMOTE_SCHEMES:
        raise RepoError(f"{shown}: unsupported URL scheme {scheme}:// (use https, http, ssh, git or file)")
    try:
        parts = urlsplit(location)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as e:
        raise RepoError(f"{shown} is not a valid URL: {e}") from e
    hostport = parts.netloc.rpartition("@")[2]
    if scheme != "file" and not hostport:
        raise RepoError(f"{shown} is not a valid URL: no host")
    if scheme == "file":
        return _Remote(url=location, display=shown, protocols="file")
    if scheme in ("http", "https"):
        url = parts._replace(netloc=hostport).geturl()
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        scope = f"{scheme}://{hostport}" if user or password else ""
        return _Remote(url, url, "http:https", scope, user, password)
    netloc = f"{parts.username}@{hostport}" if parts.username else hostport  # ssh/git: keep the login
    url = parts._replace(netloc=netloc).geturl()
    return _Remote(url=url, display=url, protocols=scheme)


def _check_refs(spec: RepoSpec, git: _Git) -> None:
    given = [
        kind for kind, value in (("branch", spec.branch), ("tag", spec.tag), ("commit", spec.commit)) if value
    ]
    if len(given) > 1:
        raise RepoError(f"give at most one of branch, tag or commit (got {' and '.join(given)})")
    if spec.commit and not _HEX_RE.match(spec.commit):
        raise RepoError(f"commit {spec.commit!r} is not a (possibly abbreviated) hexadecimal object name")
    for kind, name, prefix in (("branch", spec.branch, "refs/heads/"), ("tag", spec.tag, "refs/tags/")):
        if not name:
            continue
        if name.startswith("-") or _CONTROL_RE.search(name):
            raise RepoError(f"{kind} name {name!r} is not valid")
        # check-ref-format takes no "--"; its argument starts with "refs/", never with "-"
        if git.run(["check-ref-format", prefix + name]).rc != 0:
            raise RepoError(f"{kind} name {name!r} is not valid")


# --- fetching -------------------------------------------------------------------------------------------------


def _fetch_ref(git: _Git, git_dir: Path, kind: str, name: str) -> str:
    refname = ("refs/heads/" if kind == "branch" else "refs/tags/") + name
    res = git.fetch(git_dir, [refname], shallow=True)
    if res.rc != 0 and not _missing_ref(res):
        log.debug("shallow fetch of %s refused (%s), fetching it in full", refname, git.describe(res))
        res = git.fetch(git_dir, [refname], shallow=False)
    if res.rc != 0:
        if _missing_ref(res):
            raise RepoError(f"{kind} {name!r} not found in {git.remote.display}")
        raise RepoError(f"cannot fetch {kind} {name!r} from {git.remote.display}: {git.describe(res)}")
    sha = git.rev_parse(git_dir, "FETCH_HEAD^{commit}")
    if not sha:
        raise RepoError(f"{kind} {name!r} in {git.remote.display} does not point to a commit")
    return sha


def _fetch_commit(git: _Git, git_dir: Path, commit: str) -> str:
    if len(commit) in _FULL_SHA_LENGTHS:
        res = git.fetch(git_dir, [commit], shallow=True)
        if res.rc == 0:
            sha = git.rev_parse(git_dir, commit + "^{commit}")
            if sha:
                return sha
            raise RepoError(f"{commit} in {git.remote.display} is not a commit")
        # Servers without uploadpack.allowAnySHA1InWant (protocol v0) or without shallow support (dumb http)
        # refuse; every branch and tag in full is the fallback.
        log.debug(
            "fetching commit %s by name refused (%s), fetching all branches and tags",
            commit,
            git.describe(res),
        )
    res = git.fetch(
        git_dir, ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"], shallow=False
    )
    if res.rc != 0:
        raise RepoError(f"cannot fetch {git.remote.display}: {git.describe(res)}")
    peeled = git.run([f"--git-dir={git_dir}", "rev-parse", "--verify", commit + "^{commit}"])
    if peeled.rc == 0 and peeled.stdout.strip():
        return peeled.stdout.strip()
    if "ambiguous" in peeled.stderr:
        raise RepoError(f"commit {commit} is ambiguous in {git.remote.display}; give more digits")
    raise RepoError(f"commit {commit} not found in {git.remote.display}")


def _clone_default(git: _Git, git_dir: Path) -> tuple[str, str]:
    """The remote's HEAD. A clone rather than a fetch, because only clone records which branch HEAD names."""
    base = ["clone", "--bare", "--no-local", "--no-tags", "--template=", "-q"]
    res = git.run([*base, "--depth", "1", "--", git.remote.url, str(git_dir)])
    if res.rc != 0:
        log.debug("shallow clone refused (%s), cloning in full", git.describe(res))
        shutil.rmtree(git_dir, ignore_errors=True)
        res = git.run([*base, "--", git.remote.url, str(git_dir)])
    if res.rc != 0:
        raise RepoError(f"cannot clone {git.remote.display}: {git.describe(res)}")
    sha = git.rev_parse(git_dir, "HEAD^{commit}")
    if not sha:
        raise RepoError(f"{git.remote.display} has no commits")
    head = git.run([f"--git-dir={git_dir}", "symbolic-ref", "-q", "--short", "HEAD"])
    return sha, head.stdout.strip() if head.rc == 0 else ""


def _missing_ref(res: _Result) -> bool:
    return "couldn't find remote ref" in res.stderr or "no such remote ref" in res.stderr


# --- running git ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    rc: int
    stdout: str
    stderr: str


class _Git:
    def __init__(self, remote: _Remote, dest: Path, timeout: float) -> None:
        self.remote = remote
        self.cwd = dest
        self.timeout = timeout
        self.exe = shutil.which("git")
        self.env = _environment(remote, dest)

    def run(self, args: list[str]) -> _Result:
        if self.exe is None:
            raise RepoError("git is not installed (the repository scan runs the git command)")
        argv = [self.exe]
        for item in _GIT_CONFIG:
            argv += ["-c", item]
        argv += args
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,  # its own process group, so a timeout kills ssh/remote helpers too
            )
        except OSError as e:
            raise RepoError(f"cannot run git: {e.strerror or e}") from e
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            what = next((a for a in args if a in _SUBCOMMANDS), "command")
            raise RepoError(
                f"git {what} timed out after {self.timeout:g}s for {self.remote.display}"
            ) from None
        return _Result(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    def init(self, git_dir: Path) -> None:
        res = self.run(["init", "-q", "--bare", "--template=", "--", str(git_dir)])
        if res.rc != 0:
            raise RepoError(f"cannot create a git repository in {git_dir}: {self.describe(res)}")

    def fetch(self, git_dir: Path, refspecs: list[str], *, shallow: bool) -> _Result:
        depth = ["--depth", "1"] if shallow else []
        return self.run(
            [f"--git-dir={git_dir}", "fetch", "-q", "--no-tags", *depth, "--", self.remote.url, *refspecs]
        )

    def rev_parse(self, git_dir: Path, rev: str) -> str:
        res = self.run([f"--git-dir={git_dir}", "rev-parse", "-q", "--verify", rev])
        return res.stdout.strip() if res.rc == 0 else ""

    def describe(self, res: _Result) -> str:
        """git's own reason, one line: its last fatal:/error: line (else its last line), credentials masked."""
        lines = [ln.strip() for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("hint:")]
        reason = next(
            (ln.split(": ", 1)[1] for ln in reversed(lines) if ln.startswith(("fatal: ", "error: "))),
            lines[-1] if lines else f"git exited with status {res.rc}",
        )
        for secret in (self.remote.password, self.remote.username):
            if len(secret) >= 3:
                reason = reason.replace(secret, "***")
        reason = mask_credentials(reason)
        return reason if len(reason) <= 300 else reason[:297] + "..."


def _environment(remote: _Remote, dest: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT_GIT_VARS}
    for name in ("SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", _USER_VAR, _PASSWORD_VAR):
        env.pop(name, None)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_SYSTEM=os.devnull,
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        GIT_LFS_SKIP_SMUDGE="1",
        GIT_ALLOW_PROTOCOL=remote.protocols,
        GIT_CEILING_DIRECTORIES=str(dest.parent),  # never discover (and read the config of) a repo above dest
        LC_ALL="C",  # git's messages in English: missing-ref detection reads them
    )
    if "GIT_SSH" not in env and "GIT_SSH_COMMAND" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    if remote.credential_scope:
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"credential.{remote.credential_scope}.helper",
                "GIT_CONFIG_VALUE_0": _CREDENTIAL_HELPER,
                _USER_VAR: remote.username,
                _PASSWORD_VAR: remote.password,
            }
        )
    return env


class RepoSource:
    """A git repository at a branch, tag or commit (`vigil repo`): checked out into a temp dir, then scanned as a
    directory, so it gets every scanner the fs command has. The artifact is named by the location (credentials
    masked) and the report's type is "repository"."""

    def __init__(self, spec: RepoSpec, *, skip_dirs: tuple[str, ...] = (), skip_files: tuple[str, ...] = (),
                 own_files: tuple[Path, ...] = (), timeout: float = DEFAULT_TIMEOUT) -> None:
        import tempfile

        from vigil.sources.fs import FsSource

        self._tmp = tempfile.TemporaryDirectory(prefix="vigil-repo-")
        try:
            self.checkout = checkout(spec, Path(self._tmp.name), timeout=timeout)
            self.fs = FsSource(self.checkout.path, self.checkout.url, skip_dirs=skip_dirs, skip_files=skip_files,
                               own_files=own_files, artifact_type="repository")
        except BaseException:
            self._tmp.cleanup()
            raise

    def describe(self) -> ArtifactInfo:
        return self.fs.describe()

    def blobs(self) -> list[BlobSpec]:
        return self.fs.blobs()

    def prefetch(self, indices: Sequence[int]) -> None:
        return None

    def close(self) -> None:
        self._tmp.cleanup()
