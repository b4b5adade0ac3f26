"""Every option declared once: flag, `VIGIL_*` env var, `vigil.yaml` key, default, help.

Precedence (like Trivy): command-line flag > environment > config file > default. The CLI builds its flags from
OPTIONS; the core receives narrow option objects (ScanOptions), never the CLI's own objects.

Trust: in CI the working directory is the checkout being scanned, so the config files Vigil finds there by their
default names — `vigil.yaml`, `.vigilignore`/`.vigilignore.yaml`, `vigil-secret.yaml` — are written by whoever
wrote the code. Such an implicit file (not named by a flag or an environment variable, and no --trust-config /
VIGIL_TRUST_CONFIG) is read only if it is a regular file, not a symbolic link, of at most 1 MiB, and a YAML error in
it is reported by line and column, never with the file's text (the file could be a hard link to something else).
It may shape what is reported (severities, skips, ignores, its own secret rules), but not where data goes or what
is written: the keys in UNTRUSTED_REFUSED, a `template: "@file"`, and paths that leave the working directory or
pass through a symlink are ignored with one warning line.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vigil.errors import UserError

# The --format values (vigil.reporters.FORMATS maps each to its module; a test keeps the two lists equal). Declared
# here so that settings stays a leaf every layer may import.
FORMAT_NAMES = ("table", "json", "sarif", "cyclonedx", "cyclonedx-xml", "spdx-json", "spdx", "junit", "gitlab",
                "gitlab-codequality", "github", "html", "template")

Kind = Literal["bool", "int", "str", "list", "path"]


class SettingsError(UserError):
    """A user error in flags, environment or config file (exit code 2)."""


@dataclass(frozen=True)
class Option:
    name: str  # attribute name, also derives flag/env/yaml key
    kind: Kind
    default: Any
    help: str
    commands: tuple[str, ...]
    short: str = ""
    yaml_key: str = ""  # dotted key in vigil.yaml; defaults to the flag name at top level
    choices: tuple[str, ...] = ()
    metavar: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "VIGIL_" + self.name.upper()

    @property
    def key(self) -> str:
        return self.yaml_key or self.name.replace("_", "-")


# Which subcommands take which option group.
GLOBAL = ("fs", "rootfs", "repo", "db", "config", "sbom", "convert", "image", "clean", "server", "k8s")
SCAN = ("fs", "rootfs", "repo", "config", "sbom", "image", "k8s")  # commands that produce a report (filters, exit code)
VULN = ("fs", "rootfs", "repo", "sbom", "image", "k8s")  # commands that match packages against the DB
REPORT = ("fs", "rootfs", "repo", "config", "sbom", "convert", "image", "k8s")  # commands that render a report
PKG = ("fs", "rootfs", "repo", "image")  # commands that inventory packages themselves
MISCONF = ("fs", "rootfs", "repo", "config", "image", "k8s")  # commands that can check config files
CLIENT = ("fs", "rootfs", "repo", "sbom", "image", "k8s")  # commands that can detect on a vigil server
PUBLISH = ("fs", "image", "config", "sbom", "repo", "rootfs")  # commands that can send their report to a store
SEVERITY_NAMES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")

OPTIONS: tuple[Option, ...] = (
    # global
    Option("cache_dir", "path", None, "cache directory (default: $XDG_CACHE_HOME/vigil or ~/.cache/vigil)",
           GLOBAL, yaml_key="cache.dir"),
    Option("config", "path", "vigil.yaml", "config file (YAML; keys as in the README)", GLOBAL,
           short="-c"),
    Option("trust_config", "bool", False, "trust the vigil.yaml, .vigilignore and vigil-secret.yaml found in the "
           "working directory like files named with --config (by default they may not set output, server, "
           "db, cache or registry keys, nor be symlinks)", GLOBAL),
    Option("quiet", "bool", False, "suppress progress and warnings", GLOBAL, short="-q"),
    Option("debug", "bool", False, "debug logging", GLOBAL, short="-d"),
    Option("db_path", "path", None, "vulnerability DB file (default: <cache-dir>/db/vigil.db)", (*VULN, "db", "server"),
           yaml_key="db.path"),
    # scan
    Option("scanners", "list", ("vuln",), "what to scan for (image: vuln,secret by default, like Trivy; misconfig: "
           "Dockerfiles, compose files, Kubernetes manifests and Helm charts, and an image's config)", PKG, yaml_key="scan.scanners",
           choices=("vuln", "secret", "misconfig", "license")),
    Option("severity", "list", SEVERITY_NAMES, "severities to report", SCAN, short="-s", choices=SEVERITY_NAMES),
    Option("exit_code", "int", 0, "exit code when findings remain after filtering (0-255)", SCAN),
    Option("ignore_unfixed", "bool", False, "report only vulnerabilities that have a fix", VULN,
           yaml_key="vulnerability.ignore-unfixed"),
    Option("ignorefile", "path", ".vigilignore", "ignore file: one ID per line, optional exp:YYYY-MM-DD", SCAN),
    Option("include_dev_deps", "bool", False, "include development dependencies", PKG,
           yaml_key="pkg.include-dev-deps"),
    Option("skip_dirs", "list", (), "directory globs to skip (node_modules, .git and vendor always are)", SCAN,
           yaml_key="scan.skip-dirs"),
    Option("skip_files", "list", (), "file globs to skip", SCAN, yaml_key="scan.skip-files"),
    Option("format", "str", "table", "output format", REPORT, short="-f", choices=FORMAT_NAMES),
    Option("output", "path", None, "write the report to this file instead of stdout", REPORT, short="-o"),
    Option("list_all_pkgs", "bool", False, "list every package in JSON output, not only vulnerable ones", VULN),
    Option("max_file_size", "int", 256 * 1024 * 1024, "largest file (bytes) an analyzer will read", SCAN,
           yaml_key="scan.max-file-size"),
    Option("secret_config", "path", "vigil-secret.yaml",
           "secret scanner config (rules, allow-rules, disable-rules, ... as in trivy-secret.yaml)", (*PKG, "k8s"),
           yaml_key="secret.config"),
    Option("parallel", "int", 0, "worker processes for secret scanning (0: one per CPU, 1: no workers)",
           PKG),
    Option("include_non_failures", "bool", False, "also list passed checks (PASS) in the report", MISCONF,
           yaml_key="misconfiguration.include-non-failures"),
    Option("config_check", "list", (), "custom Rego check files or directories (comma-separated)",
           MISCONF, yaml_key="misconfiguration.config-check", metavar="PATH,…"),
    Option("config_data", "list", (), "JSON/YAML data files or directories for custom checks (under data.*)",
           MISCONF, yaml_key="misconfiguration.config-data", metavar="PATH,…"),
    Option("check_namespaces", "list", ("user",), "Rego package namespaces of custom checks to evaluate",
           MISCONF, yaml_key="misconfiguration.check-namespaces"),
    Option("include_deprecated_checks", "bool", False, "also run deprecated built-in checks (e.g. DS-0024)",
           MISCONF, yaml_key="misconfiguration.include-deprecated-checks"),
    Option("helm_values", "list", (), "Helm values files (like helm -f)", MISCONF,
           yaml_key="misconfiguration.helm.values", metavar="FILE,…"),
    Option("helm_set", "list", (), "Helm values on the command line (key1=val1,key2=val2)", MISCONF,
           yaml_key="misconfiguration.helm.set", metavar="KEY=VAL,…"),
    Option("helm_kube_version", "str", "", "Kubernetes version Helm renders for (Capabilities.KubeVersion)",
           MISCONF, yaml_key="misconfiguration.helm.kube-version"),
    Option("helm_skip_hooks", "bool", False, "skip Helm hooks and tests (templates annotated helm.sh/hook), as "
           "Trivy does; by default they are scanned, since they run in the cluster too", MISCONF,
           yaml_key="misconfiguration.helm.skip-hooks"),
    Option("template", "str", None, "Jinja2 template for --format template: inline text or @path/to/file.j2",
           REPORT, short="-t"),
    Option("vex", "list", (), "VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX): not_affected/fixed statements "
           "suppress findings; repeat or comma-separate", SCAN, metavar="FILE,…", yaml_key="vulnerability.vex"),
    Option("show_suppressed", "bool", False, "list suppressed findings and why (table output)", REPORT),
    Option("pkg_types", "list", ("os", "library"), "package types to report (os: distribution packages; "
           "library: language packages)", PKG, yaml_key="pkg.types", choices=("os", "library")),
    Option("pkg_relationships", "list", ("unknown", "root", "workspace", "direct", "indirect"),
           "dependency relationships to report", PKG, yaml_key="pkg.relationships",
           choices=("unknown", "root", "workspace", "direct", "indirect")),
    Option("dependency_tree", "bool", False, "show, for each vulnerable package, the dependency chain(s) from a "
           "direct dependency (table output)", PKG),
    Option("ignored_licenses", "list", (), "licenses (SPDX IDs) not to report", PKG,
           yaml_key="license.ignored"),
    *(Option(f"license_{c}", "list", (), f"SPDX IDs in license category '{c}' (replaces the built-in list)",
             PKG, yaml_key=f"license.{c}")
      for c in ("forbidden", "restricted", "reciprocal", "notice", "permissive", "unencumbered")),
    Option("input", "path", None, "read the image from a docker-archive (docker/podman save) or an OCI layout "
           "(directory or tar; DIR:TAG selects a tag) instead of a daemon or registry", ("image",), short="-i"),
    Option("image_src", "list", ("docker", "podman", "remote"), "where to look for the image, in order",
           ("image",), yaml_key="image.source", choices=("docker", "podman", "remote")),
    Option("platform", "str", "", "platform of a multi-platform image: os/arch[/variant] (default linux/<this "
           "machine's arch>)", ("image", "k8s"), yaml_key="image.platform"),
    Option("username", "str", "", "registry user name (else docker config.json credentials, else anonymous)",
           ("image", "k8s"), yaml_key="registry.username"),
    Option("password", "str", "", "registry password or token", ("image", "k8s"), yaml_key="registry.password"),
    Option("registry_token", "str", "", "registry bearer token", ("image", "k8s"), yaml_key="registry.token"),
    Option("insecure", "bool", False, "allow plain-HTTP registries and skip TLS verification", ("image", "k8s"),
           yaml_key="registry.insecure"),
    Option("cacert", "path", None, "CA bundle for TLS registries", ("image", "k8s"), yaml_key="registry.ca"),
    Option("branch", "str", "", "repo: branch to scan (default: the remote's default branch)", ("repo",)),
    Option("tag", "str", "", "repo: tag to scan", ("repo",)),
    Option("commit", "str", "", "repo: commit to scan (full or abbreviated sha)", ("repo",)),
    Option("cache_backend", "str", "fs", "analysis cache: fs (SQLite under --cache-dir), memory, none, or "
           "redis://[user:pass@]HOST:PORT[/DB] (shared)", ("image", "server", "k8s"), yaml_key="cache.backend"),
    Option("cache_ttl", "str", "0", "analysis cache entries older than this are analysed again (e.g. 72h, 30m, "
           "3600; 0 = keep)", ("image", "clean", "server", "k8s"), yaml_key="cache.ttl"),
    Option("exit_on_eol", "int", 0, "exit code when the image's OS is past its end of life (0-255)", ("image",)),
    Option("db_repository", "list", (), "where to download the DB from, in order: oci://REGISTRY/REPO:TAG or "
           "https://HOST/DIR/ (a plain HTTP(S) directory); the next one is tried on 429/5xx/timeouts",
           (*VULN, "db", "server"), yaml_key="db.repository", metavar="URL,…"),
    Option("skip_db_update", "bool", False, "never download the DB; scan with the one on disk", (*VULN, "server"),
           yaml_key="db.skip-update"),
    Option("download_db_only", "bool", False, "download/update the DB, then exit without scanning", VULN,
           yaml_key="db.download-only"),
    Option("offline_scan", "bool", False, "no network at all during the scan (implies --skip-db-update)",
           (*VULN,), yaml_key="db.offline-scan"),
    Option("server", "str", "", "client mode: analyse here, detect on this vigil server (http(s)://HOST:PORT)",
           CLIENT, yaml_key="server.addr"),
    Option("token", "str", "", "token for the vigil server (client mode); on the command line it shows in `ps` to "
           "other users: VIGIL_TOKEN or --token-file keep it out", CLIENT, yaml_key="server.token"),
    Option("token_header", "str", "Vigil-Token", "HTTP header that carries the token (a server also takes it in "
           "Trivy's Trivy-Token from Trivy clients)",
           (*CLIENT, "server"), yaml_key="server.token-header"),
    Option("server_cacert", "path", None, "client mode: CA bundle (PEM) to verify the vigil server's certificate",
           CLIENT, yaml_key="server.ca"),
    Option("server_insecure", "bool", False, "client mode: skip TLS verification of the vigil server",
           CLIENT, yaml_key="server.insecure"),
    Option("listen", "str", "127.0.0.1:4954", "server: address to listen on (HOST:PORT)", ("server",),
           yaml_key="server.listen"),
    Option("token_file", "path", None, "server: file of the tokens clients may send, one per line (one tenant "
           "each); client mode: file holding the token to send (instead of --token)", ("server", *CLIENT),
           yaml_key="server.token-file"),
    Option("insecure_no_auth", "bool", False, "server: allow listening on a non-loopback address without a token",
           ("server",), yaml_key="server.insecure-no-auth"),
    Option("tls_cert", "path", None, "server: TLS certificate (PEM)", ("server",), yaml_key="server.tls-cert"),
    Option("tls_key", "path", None, "server: TLS private key (PEM)", ("server",), yaml_key="server.tls-key"),
    Option("db_update_interval", "str", "1h", "server: how often to check for a newer DB (e.g. 1h, 30m)",
           ("server",), yaml_key="server.db-update-interval"),
    Option("header_timeout", "str", "10s", "server: a connection whose request line and headers are not all in "
           "within this time is closed (slow or idle clients hold no connection)", ("server",),
           yaml_key="server.header-timeout"),
    Option("body_timeout", "str", "30s", "server: a connection whose request body stops arriving for this long is "
           "closed (its share of the upload buffer is given back)", ("server",), yaml_key="server.body-timeout"),
    Option("max_connections", "int", 0, "server: open connections at most; beyond, the longest-waiting one that has "
           "not sent its headers is closed (0: from the open-file limit)", ("server",),
           yaml_key="server.max-connections"),
    Option("cache_memory_size", "str", "256MiB", "server: most bytes of analyses --cache-backend memory keeps (the "
           "least recently used go first; at least 64MiB, the largest upload)", ("server",),
           yaml_key="cache.memory-size"),
    # the report store (vigil.store) and publishing to it
    Option("publish", "str", "", "also send the report to this vigil server's report store (http(s)://HOST:PORT)",
           PUBLISH, yaml_key="publish.url", metavar="URL"),
    Option("publish_name", "str", "", "the target's name in the store (default: the repository and branch, the "
           "image name or the scanned path)", PUBLISH, yaml_key="publish.name"),
    Option("publish_label", "list", (), "a label of the target in the store (repeatable)", PUBLISH,
           yaml_key="publish.labels", metavar="KEY=VALUE"),
    Option("publish_token", "str", "", "token for the report store (VIGIL_PUBLISH_TOKEN keeps it out of `ps`)",
           PUBLISH, yaml_key="publish.token"),
    Option("publish_required", "bool", False, "fail (exit 2) when the report cannot be published; by default a "
           "warning and the scan's own exit code", PUBLISH, yaml_key="publish.required"),
    Option("store", "str", "", "server: report store URL, sqlite:///PATH or postgresql://USER@HOST/DB (default: "
           "SQLite at <cache-dir>/store/store.db; 'none': keep no reports)", ("server",), yaml_key="store.url"),
    Option("store_retention_days", "int", 90, "server: days the store keeps full reports (findings history and "
           "daily roll-ups are kept for ever)", ("server",), yaml_key="store.retention-days"),
    Option("webhook", "list", (), "server: POST a JSON message here when a scan brings a target a CRITICAL, "
           "known-exploited or secret finding (repeatable)", ("server",), yaml_key="store.webhooks", metavar="URL"),
    Option("slack_webhook", "list", (), "server: the same, as a Slack incoming-webhook message (repeatable)",
           ("server",), yaml_key="store.slack-webhooks", metavar="URL"),
    Option("read_only_token_file", "path", None, "server: file of tokens that may read the store and its web UI "
           "but not publish, one per line", ("server",), yaml_key="server.read-only-token-file"),
    Option("auth_proxy_user_header", "str", "", "server: header an authenticating proxy sets to the signed-in user "
           "(the proxy must strip it from client requests)", ("server",), yaml_key="server.auth-proxy.user-header"),
    Option("auth_proxy_groups_header", "str", "X-Forwarded-Groups", "server: header carrying that user's groups "
           "(comma-separated)", ("server",), yaml_key="server.auth-proxy.groups-header"),
    Option("auth_proxy_read_groups", "list", (), "server: proxy groups that may read the store", ("server",),
           yaml_key="server.auth-proxy.read-groups", metavar="GROUP,…"),
    Option("auth_proxy_write_groups", "list", (), "server: proxy groups that may also publish", ("server",),
           yaml_key="server.auth-proxy.write-groups", metavar="GROUP,…"),
)

def parse_duration(text: str) -> float:
    """"72h", "30m", "45s", "2d", "1h30m" or plain seconds -> seconds. Raises SettingsError."""
    import re

    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)([dhms])", t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise SettingsError(f"invalid duration {text!r} (expected e.g. 72h, 30m, 1h30m or seconds)")
    mult = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(float(n) * mult[u] for n, u in parts)


def parse_size(text: str) -> int:
    """"256MiB", "1GiB", "512KiB", "64MB" or plain bytes -> bytes. Raises SettingsError."""
    import re

    m = re.fullmatch(r"(\d+)\s*([KMGT]i?B|[KMGT]|B)?", text.strip(), re.IGNORECASE)
    if m is None:
        raise SettingsError(f"invalid size {text!r} (expected e.g. 256MiB, 1GiB or bytes)")
    unit = (m.group(2) or "B").upper()
    power = "BKMGT".index(unit[0])
    base = 1000 if unit.endswith("B") and not unit.endswith("IB") and unit != "B" else 1024
    return int(m.group(1)) * int(base**power)


# Options whose default differs for one command (Trivy's image and repo scans look for secrets too).
COMMAND_DEFAULTS: dict[tuple[str, str], Any] = {("image", "scanners"): ("vuln", "secret"),
                                               ("repo", "scanners"): ("vuln", "secret")}

BY_NAME = {o.name: o for o in OPTIONS}


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vigil"


# Values that parse but would let a scan pass silently: a process's exit status is the code modulo 256 (256 would
# exit 0 with findings, -1 gives 255), and an empty severity list filters every finding out.
EXIT_CODE_OPTIONS = frozenset({"exit_code", "exit_on_eol"})
NON_EMPTY_OPTIONS = frozenset({"severity"})


def _coerce(opt: Option, value: Any, origin: str) -> Any:
    out = _parse(opt, value, origin)
    if opt.name in EXIT_CODE_OPTIONS and not 0 <= out <= 255:
        raise SettingsError(f"{origin}: {out} is not an exit code (0-255)")
    if opt.name in NON_EMPTY_OPTIONS and not out:
        raise SettingsError(f"{origin}: empty; choose one or more of {', '.join(opt.choices)}")
    return out


def _parse(opt: Option, value: Any, origin: str) -> Any:
    try:
        if opt.kind == "bool":
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in ("1", "true", "yes", "on"):
                return True
            if s in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"not a boolean: {value!r}")
        if opt.kind == "int":
            if isinstance(value, bool):
                raise ValueError(f"not an integer: {value!r}")
            return int(value)
        if opt.kind == "list":
            items = value.split(",") if isinstance(value, str) else list(value)
            out = tuple(str(i).strip() for i in items if str(i).strip())
            if opt.choices:
                if opt.name == "severity":
                    out = tuple(s.upper() for s in out)
                bad = [i for i in out if i not in opt.choices]
                if bad:
                    raise ValueError(f"invalid value(s) {', '.join(bad)}; choose from {', '.join(opt.choices)}")
            return out
        if opt.kind == "path":
            return None if value is None else Path(str(value)).expanduser()
        s = str(value)
        if opt.choices and s not in opt.choices:
            raise ValueError(f"invalid value {s!r}; choose from {', '.join(opt.choices)}")
        return s
    except ValueError as e:
        raise SettingsError(f"{origin}: {e}") from e


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------- config file trust

IMPLICIT_FILE_CAP = 1 << 20  # bytes; an implicit config file larger than this is ignored

# Options an implicit config file may not set: they write files, send the inventory or a token somewhere, choose
# where the DB comes from or where caches live, or weaken TLS. A flag, the environment, --config FILE or
# --trust-config can set them.
UNTRUSTED_REFUSED = frozenset({
    "output", "cache_dir", "cache_backend", "db_path", "db_repository",
    "server", "token", "token_header", "server_cacert", "server_insecure",
    "listen", "token_file", "insecure_no_auth", "tls_cert", "tls_key",
    "username", "password", "registry_token", "insecure", "cacert",
    "trust_config",
    # a scanned repository's own vigil.yaml must not send its report (or a token) to a store of its choosing
    "publish", "publish_token", "store", "webhook", "slack_webhook", "read_only_token_file", "auth_proxy_user_header",
})
# Options naming files to read: from an implicit config file they must stay inside the working directory.
_PATH_OPTIONS = frozenset({"ignorefile", "secret_config", "vex", "config_check", "config_data", "helm_values"})
# Files read by their default names: ScanOptions.untrusted_files says which of them came from an untrusted place
# (their default, or an implicit config file), so that their readers apply read_untrusted.
_IMPLICIT_FILE_OPTIONS = ("ignorefile", "secret_config")
UNTRUSTED_FILES = "_untrusted_files"  # key in resolve()'s result


def read_untrusted(path: Path, what: str, warnings: list[str]) -> bytes | None:
    """An implicit config file's bytes, or None when there is none or it is refused (with one line in
    `warnings`): a symbolic link (it could point anywhere, e.g. ~/.aws/credentials or /dev/zero), anything but a
    regular file (a FIFO would block), or more than IMPLICIT_FILE_CAP bytes. Never follows the last component."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            warnings.append(f"ignoring {what} {path}: it is a symbolic link, and a file found in the working "
                            f"directory is not followed (name it with a flag to use it)")
            return None
        raise SettingsError(f"cannot read {what} {path}: {e.strerror or e}") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            warnings.append(f"ignoring {what} {path}: not a regular file")
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(IMPLICIT_FILE_CAP + 1)
    except OSError as e:
        raise SettingsError(f"cannot read {what} {path}: {e.strerror or e}") from e
    finally:
        os.close(fd)
    if len(data) > IMPLICIT_FILE_CAP:
        warnings.append(f"ignoring {what} {path}: larger than {IMPLICIT_FILE_CAP >> 20} MiB")
        return None
    return data


def yaml_error_position(e: BaseException | None) -> str:
    """Where a YAML error is, without the parser's snippet of the text (which would print the file's content).
    Vigil's own refusals (an alias bomb) carry no text from the file and are shown as they are."""
    from vigil.yaml_safe import AliasExpansionError

    if isinstance(e, AliasExpansionError):
        return str(e)
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(e, UnicodeDecodeError):
        return f"not UTF-8 text (byte {e.start})"
    return "invalid YAML"


def is_parse_error(e: BaseException | None) -> bool:
    """A YAML or UTF-8 decoding error (whose message quotes the text)."""
    import yaml

    return isinstance(e, yaml.YAMLError | UnicodeDecodeError)


def _inside_workdir(value: Any) -> bool:
    """A relative path that stays inside the working directory and passes through no symlink, naming (if it
    exists) a regular file or a directory."""
    p = Path(str(value))
    if p.is_absolute() or ".." in p.parts or str(value).startswith("~"):
        return False
    cur = Path()
    for part in p.parts:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            return True  # a missing file is reported by its reader
        except OSError:
            return False
        if stat.S_ISLNK(st.st_mode):
            return False
    return stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) if p.parts else False


def _untrusted_filter(cfg_path: Path, file_values: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Drop what an implicit config file may not set (one warning line for each kind of refusal)."""
    by_key = {o.key: o for o in OPTIONS}
    refused, outside = [], []
    for key, v in list(file_values.items()):
        o = by_key.get(key)
        if o is None:
            continue
        if o.name in UNTRUSTED_REFUSED or (o.name == "template" and str(v).lstrip().startswith("@")):
            refused.append(key)
            del file_values[key]
        elif o.name in _PATH_OPTIONS and v is not None:
            items = v.split(",") if isinstance(v, str) else v if isinstance(v, list) else [v]
            if not all(_inside_workdir(str(i).strip()) for i in items if str(i).strip()):
                outside.append(key)
                del file_values[key]
    if refused:
        warnings.append(f"{cfg_path}: ignoring {', '.join(sorted(refused))}: a config file found in the working directory "
                        f"may not write files, send data or choose the DB and caches (use --config {cfg_path} "
                        f"or --trust-config if you trust it)")
    if outside:
        warnings.append(f"{cfg_path}: ignoring {', '.join(sorted(outside))}: a config file found in the working directory "
                        f"may only name files inside it, not through symbolic links")
    return file_values


def _check_file_type(o: Option, value: Any, origin: str) -> None:
    """A config file value of the wrong YAML type is a user error (exit 2) naming the key, not a crash."""
    scalar = (str, int, float)
    if o.kind == "list":
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(i, scalar) for i in value))
        want = "a list of strings (or one comma-separated string)"
    elif o.kind == "bool":
        ok, want = isinstance(value, bool | str), "true or false"
    elif o.kind == "int":
        ok, want = isinstance(value, int | str) and not isinstance(value, bool), "an integer"
    else:
        ok, want = isinstance(value, scalar) and not isinstance(value, bool), "a string"
    if not ok:
        got = type(value).__name__.replace("dict", "mapping").replace("NoneType", "null")
        raise SettingsError(f"{origin}: expected {want}, got a {got}")


def load_config_file(path: Path, explicit: bool, trusted: bool = True,
                     warnings: list[str] | None = None) -> dict[str, Any]:
    """The flattened keys of a config file. An untrusted (implicit) one goes through read_untrusted and its YAML
    errors carry no text from it. The YAML parser is imported only when there is a file to parse: most runs have
    none, and the import is a noticeable part of a small scan's start-up."""
    if not trusted:
        data = read_untrusted(path, "config file", warnings if warnings is not None else [])
        if data is None:
            return {}
        import yaml

        from vigil.yaml_safe import safe_load

        try:
            doc = safe_load(data.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise SettingsError(f"config file {path}: {yaml_error_position(e)}") from None
    else:
        if not path.exists():
            if explicit:
                raise SettingsError(f"config file {path} not found")
            return {}
        import yaml

        from vigil.yaml_safe import safe_load

        try:
            doc = safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as e:
            raise SettingsError(f"config file {path}: {e}") from e
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise SettingsError(f"config file {path}: expected a mapping at the top level")
    return _flatten(doc)


def _trust_requested(cli: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    o = BY_NAME["trust_config"]
    if "trust_config" in cli:
        return bool(_coerce(o, cli["trust_config"], f"flag {o.flag}"))
    return o.env in env and bool(_coerce(o, env[o.env], f"environment variable {o.env}"))


def resolve(command: str, cli: Mapping[str, Any], env: Mapping[str, str] | None = None,
            warnings: list[str] | None = None) -> dict[str, Any]:
    """Merge defaults < config file < env < CLI for `command`. `cli` holds only flags the user gave. Lines for the
    user about refused config values go to `warnings` (logged here when it is None). The result's UNTRUSTED_FILES
    entry names the options whose file came from an untrusted place (see the module docstring)."""
    env = os.environ if env is None else env
    notes: list[str] = [] if warnings is None else warnings
    opts = [o for o in OPTIONS if command in o.commands]
    cfg_opt = BY_NAME["config"]
    cfg_value = cli.get("config") or env.get(cfg_opt.env)
    cfg_path = Path(cfg_value) if cfg_value else Path(cfg_opt.default)
    trust_all = _trust_requested(cli, env)
    file_trusted = bool(cfg_value) or trust_all
    file_values = load_config_file(cfg_path, explicit=bool(cfg_value), trusted=file_trusted, warnings=notes)
    known_keys = {o.key for o in OPTIONS}
    unknown = sorted(k for k in file_values if k not in known_keys)
    if unknown:
        raise SettingsError(f"config file {cfg_path}: unknown key(s): {', '.join(unknown)}")
    trust_key = BY_NAME["trust_config"].key
    if trust_key in file_values:  # a file cannot vouch for itself
        del file_values[trust_key]
        notes.append(f"{cfg_path}: ignoring {trust_key}: give it as a flag or environment variable")
    if not file_trusted:
        file_values = _untrusted_filter(cfg_path, file_values, notes)
    values: dict[str, Any] = {}
    untrusted: set[str] = set()
    for o in opts:
        v: Any = COMMAND_DEFAULTS.get((command, o.name), o.default)
        origin, from_untrusted = "default", not trust_all
        if o.key in file_values:
            v, origin = file_values[o.key], f"config file {cfg_path} key {o.key!r}"
            from_untrusted = not file_trusted
            if v is not None:
                _check_file_type(o, v, origin)
        if o.env in env:
            v, origin, from_untrusted = env[o.env], f"environment variable {o.env}", False
        if o.name in cli:
            v, origin, from_untrusted = cli[o.name], f"flag {o.flag}", False
        values[o.name] = _coerce(o, v, origin) if v is not None else None
        if from_untrusted and o.name in _IMPLICIT_FILE_OPTIONS:
            untrusted.add(o.name)
    values[UNTRUSTED_FILES] = frozenset(untrusted)
    if warnings is None:
        for n in notes:
            log.warning("%s", n)
    return values


@dataclass(frozen=True)
class ScanOptions:
    """What the engine needs for one scan; nothing CLI-specific."""

    target: Path
    db_path: Path
    scanners: tuple[str, ...] = ("vuln",)
    severities: tuple[str, ...] = SEVERITY_NAMES
    ignore_unfixed: bool = False
    include_dev_deps: bool = False
    skip_dirs: tuple[str, ...] = ()
    skip_files: tuple[str, ...] = ()
    ignorefile: Path | None = None
    list_all_pkgs: bool = False
    max_file_size: int = 256 * 1024 * 1024
    artifact_name: str = ""
    # which analyzer kinds run ("lockfile" for fs; + "installed" for rootfs; + "os" for images), package filters,
    # licenses, dependency tree
    analyzer_kinds: tuple[str, ...] = ("lockfile",)
    pkg_types: tuple[str, ...] = ("os", "library")
    pkg_relationships: tuple[str, ...] = ("unknown", "root", "workspace", "direct", "indirect")
    dependency_tree: bool = False
    ignored_licenses: tuple[str, ...] = ()
    license_categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    vex: tuple[Path, ...] = ()
    # secret scanner config file (None or missing default: built-in rules) and worker processes
    secret_config: Path | None = None
    parallel: int = 0
    # which of "ignorefile" and "secret_config" came from an untrusted place (their default name in the working
    # directory, or an implicit vigil.yaml): read with read_untrusted
    untrusted_files: frozenset[str] = frozenset()
    # misconfiguration: PASS entries, deprecated checks, custom Rego checks and their data, Helm rendering
    include_non_failures: bool = False
    include_deprecated_checks: bool = False
    config_check: tuple[Path, ...] = ()
    config_data: tuple[Path, ...] = ()
    check_namespaces: tuple[str, ...] = ("user",)
    helm_values: tuple[Path, ...] = ()
    helm_set: tuple[str, ...] = ()
    helm_kube_version: str = ""
    helm_skip_hooks: bool = False
    # where compiled matchers (the secret engine's hyperscan database) are kept between runs; None: compiled anew
    compiled_cache_dir: Path | None = None


@dataclass(frozen=True)
class DBOptions:
    """Where the DB is and how a scan may update it."""

    db_path: Path
    repositories: tuple[str, ...] = ()  # --db-repository, in order of preference
    skip_update: bool = False
    offline: bool = False
    download_only: bool = False
    needed: bool = True  # False in client mode (the server matches) or without the vuln scanner
    progress: bool = False


def db_path_of(values: Mapping[str, Any]) -> Path:
    """--db-path, else <cache-dir>/db/vigil.db."""
    if values.get("db_path"):
        return Path(values["db_path"])
    cache_dir = Path(values["cache_dir"]) if values.get("cache_dir") else default_cache_dir()
    return cache_dir / "db" / "vigil.db"


def repositories_of(values: Mapping[str, Any]) -> tuple[str, ...]:
    raw = values.get("db_repository") or ()
    items = [raw] if isinstance(raw, str) else list(raw)
    return tuple(r.strip() for item in items for r in str(item).split(",") if r.strip())


def db_options(values: Mapping[str, Any], *, progress: bool = False) -> DBOptions:
    scanners = values.get("scanners")
    return DBOptions(
        db_path=db_path_of(values),
        repositories=repositories_of(values),
        skip_update=bool(values.get("skip_db_update")),
        offline=bool(values.get("offline_scan")),
        download_only=bool(values.get("download_db_only")),
        needed=not values.get("server") and (scanners is None or "vuln" in scanners),
        progress=progress,
    )


def scan_options(target: Path, values: Mapping[str, Any]) -> ScanOptions:
    return ScanOptions(
        target=target,
        db_path=db_path_of(values),
        scanners=tuple(values.get("scanners") or ("vuln",)),
        severities=tuple(values.get("severity") or SEVERITY_NAMES),
        ignore_unfixed=bool(values.get("ignore_unfixed")),
        include_dev_deps=bool(values.get("include_dev_deps")),
        skip_dirs=tuple(values.get("skip_dirs") or ()),
        skip_files=tuple(values.get("skip_files") or ()),
        ignorefile=values.get("ignorefile"),
        list_all_pkgs=bool(values.get("list_all_pkgs")),
        max_file_size=int(values.get("max_file_size") or 256 * 1024 * 1024),
        artifact_name=str(target),
        pkg_types=values.get("pkg_types") or ("os", "library"),
        pkg_relationships=values.get("pkg_relationships") or ("unknown", "root", "workspace", "direct", "indirect"),
        dependency_tree=bool(values.get("dependency_tree")),
        ignored_licenses=values.get("ignored_licenses") or (),
        license_categories={k[len("license_"):]: v for k, v in values.items()
                            if k.startswith("license_") and k != "license_" and v},
        vex=tuple(Path(v).expanduser() for v in values.get("vex") or ()),
        secret_config=values.get("secret_config"),
        parallel=values.get("parallel") or 0,
        untrusted_files=frozenset(values.get(UNTRUSTED_FILES) or ()),
        include_non_failures=bool(values.get("include_non_failures")),
        include_deprecated_checks=bool(values.get("include_deprecated_checks")),
        config_check=_paths(values.get("config_check")),
        config_data=_paths(values.get("config_data")),
        check_namespaces=tuple(values.get("check_namespaces") or ("user",)),
        helm_values=_paths(values.get("helm_values")),
        helm_set=tuple(values.get("helm_set") or ()),
        helm_kube_version=str(values.get("helm_kube_version") or ""),
        helm_skip_hooks=bool(values.get("helm_skip_hooks")),
        compiled_cache_dir=(Path(values["cache_dir"]) if values.get("cache_dir") else default_cache_dir()) / "compiled",
    )


def _paths(value: Any) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in value or ())
