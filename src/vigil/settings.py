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
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from vigil.errors import UserError
from vigil.log import get_logger

if TYPE_CHECKING:
    from vigil.scan_options import ScanOptions as ScanOptions  # named here; defined there (see __getattr__)

# The --format values (vigil.reporters.FORMATS maps each to its module; a test keeps the two lists equal). Declared
# here so that settings stays a leaf every layer may import.
FORMAT_NAMES = ("table", "json", "sarif", "cyclonedx", "cyclonedx-xml", "spdx-json", "spdx", "junit", "gitlab",
                "gitlab-codequality", "github", "html", "template", "cosign-vuln")

Kind = Literal["bool", "int", "str", "list", "path"]


class SettingsError(UserError):
    """A user error in flags, environment or config file (exit code 2)."""


class Option(NamedTuple):  # a NamedTuple, not a dataclass: defining the class costs a tenth (every CLI run loads it)
    name: str  # attribute name, also derives flag/env/yaml key
    kind: Kind
    default: Any
    help: str
    commands: tuple[str, ...]
    short: str = ""
    yaml_key: str = ""  # dotted key in vigil.yaml; defaults to the flag name at top level
    choices: tuple[str, ...] = ()
    metavar: str = ""
    # A Trivy flag Vigil accepts but cannot apply (Terraform inputs, the Java DB, WASM modules…): why, said in one
    # warning line when the option is set to anything but its default.
    ignored: str = ""
    ignored_in: tuple[str, ...] = ()  # the commands `ignored` is about (default: all of the option's commands)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "VIGIL_" + self.name.upper()

    @property
    def key(self) -> str:
        return self.yaml_key or self.name.replace("_", "-")

    @property
    def trivy_env(self) -> str:
        """Trivy's variable for the same flag (read when the VIGIL_* one is absent); "" for a Vigil-only option."""
        return "TRIVY_" + self.name.upper() if self.name in TRIVY_KEYS else ""

    @property
    def trivy_key(self) -> str:
        """Trivy's trivy.yaml key for the same flag; "" for a Vigil-only option."""
        return TRIVY_KEYS.get(self.name, "")


# Which subcommands take which option group.
GLOBAL = ("fs", "rootfs", "repo", "db", "config", "sbom", "convert", "image", "clean", "server", "k8s")
SCAN = ("fs", "rootfs", "repo", "config", "sbom", "image", "k8s")  # commands that produce a report (filters, exit code)
VULN = ("fs", "rootfs", "repo", "sbom", "image", "k8s")  # commands that match packages against the DB
REPORT = ("fs", "rootfs", "repo", "config", "sbom", "convert", "image", "k8s")  # commands that render a report
PKG = ("fs", "rootfs", "repo", "image")  # commands that inventory packages themselves
MISCONF = ("fs", "rootfs", "repo", "config", "image", "k8s")  # commands that can check config files
CLIENT = ("fs", "rootfs", "repo", "sbom", "image", "k8s")  # commands that can detect on a vigil server
PUBLISH = ("fs", "image", "config", "sbom", "repo", "rootfs", "k8s")  # commands that can send their report to a store
SEVERITY_NAMES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
TRIVY_ALL = (*SCAN, "server")  # Trivy's global flags (registry, TLS, cache, timeout) on every scan command and server
NO_REGISTRY = ("config",)  # registry credentials serve image pulls and oci:// DB downloads: config needs neither
NOT_CACHED = ("fs", "rootfs", "repo", "config", "sbom")  # commands whose analyses are not cached
SBOM_PKG = (*PKG, "sbom")  # package filters and scanners that `sbom` takes too (its packages are given, not found)

# Trivy's Redis TLS flags: (name, kind, help)
_REDIS_TLS: tuple[tuple[str, Kind, str], ...] = (
    ("redis_ca", "path", "CA file (PEM) for a TLS Redis cache"),
    ("redis_cert", "path", "client certificate for a TLS Redis cache"),
    ("redis_key", "path", "client key for a TLS Redis cache"),
    ("redis_tls", "bool", "connect to the Redis cache over TLS (rediss://)"),
)

# Trivy's flags for features Vigil does not have: (name, kind, default, commands, trivy.yaml key, why not applied)
_IGNORED: tuple[tuple[str, Kind, Any, tuple[str, ...], str, str], ...] = (
    ("ansible_extra_vars", "list", (), MISCONF, "ansible.extra-vars", "Ansible playbooks are not scanned"),
    ("ansible_inventory", "list", (), MISCONF, "ansible.inventories", "Ansible playbooks are not scanned"),
    ("ansible_playbook", "list", (), MISCONF, "ansible.playbooks", "Ansible playbooks are not scanned"),
    ("cf_params", "list", (), MISCONF, "misconfiguration.cloudformation.params",
     "CloudFormation templates are not scanned"),
    ("tf_vars", "list", (), MISCONF, "misconfiguration.terraform.vars", "Terraform is not scanned"),
    ("tf_exclude_downloaded_modules", "bool", False, MISCONF,
     "misconfiguration.terraform.exclude-downloaded-modules", "Terraform is not scanned"),
    ("raw_config_scanners", "list", (), MISCONF, "misconfiguration.raw-config-scanners",
     "Terraform is not scanned"),
    ("render_cause", "list", (), MISCONF, "misconfiguration.render-cause",
     "Terraform and Ansible are not scanned"),
    ("config_file_schemas", "list", (), MISCONF, "misconfiguration.config-file-schemas",
     "custom checks see only the built-in config types"),
    ("checks_bundle_repository", "str", "", MISCONF, "misconfiguration.checks-bundle-repository",
     "the checks are built in, never downloaded"),
    ("rego_error_limit", "int", 10, MISCONF, "rego.error-limit",
     "a custom check that does not compile is always an error"),
    ("trace_rego", "bool", False, MISCONF, "rego.trace", "no Rego trace; --debug logs each custom check"),
    ("compliance", "str", "", SCAN, "scan.compliance", "compliance reports are not built"),
    ("report", "str", "", ("fs", "rootfs", "repo", "config", "image"), "report",
     "compliance reports are not built"),
    ("enable_modules", "list", (), (*MISCONF, "server"), "module.enable-modules",
     "WASM modules are not supported"),
    ("module_dir", "path", None, (*MISCONF, "server"), "module.dir", "WASM modules are not supported"),
    ("download_java_db_only", "bool", False, VULN, "db.download-java-only",
     "jars are identified without a Java DB"),
    ("java_db_repository", "list", (), VULN, "db.java-repository", "jars are identified without a Java DB"),
    ("license_full", "bool", False, PKG, "license.full", "licences come from package metadata only"),
    ("license_confidence_level", "str", "", PKG, "license.confidencelevel",
     "licences come from package metadata only"),
    ("output_plugin_arg", "str", "", SCAN, "output-plugin-arg", "output plugins are not supported"),
    ("rekor_url", "str", "", VULN, "scan.rekor-url", "SBOMs are not fetched from Rekor"),
    ("sbom_sources", "list", (), VULN, "scan.sbom-sources", "SBOMs are not fetched from OCI or Rekor"),
    ("vuln_severity_source", "list", (), VULN, "vulnerability.severity-source",
     "the DB keeps one severity per advisory"),
    ("removed_pkgs", "bool", False, ("image",), "image.removed-pkgs",
     "packages removed in a later layer are not reported"),
)

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
           "Dockerfiles, compose files, Kubernetes manifests and Helm charts, and an image's config)", SBOM_PKG,
           yaml_key="scan.scanners",
           choices=("vuln", "secret", "misconfig", "license", "crypto")),
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
    Option("list_all_pkgs", "bool", True, "list every package in the JSON report (on by default, as in Trivy 0.76; "
           "--list-all-pkgs=false lists none)", VULN),
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
           "library: language packages)", SBOM_PKG, yaml_key="pkg.types", choices=("os", "library")),
    Option("pkg_relationships", "list", ("unknown", "root", "workspace", "direct", "indirect"),
           "dependency relationships to report", SBOM_PKG, yaml_key="pkg.relationships",
           choices=("unknown", "root", "workspace", "direct", "indirect")),
    Option("dependency_tree", "bool", False, "show, for each vulnerable package, the dependency chain(s) from a "
           "direct dependency (table output)", PKG),
    Option("ignored_licenses", "list", (), "licenses (SPDX IDs) not to report", SBOM_PKG,
           yaml_key="license.ignored"),
    *(Option(f"license_{c}", "list", (), f"SPDX IDs in license category '{c}' (replaces the built-in list)",
             PKG, yaml_key=f"license.{c}")
      for c in ("forbidden", "restricted", "reciprocal", "notice", "permissive", "unencumbered")),
    Option("input", "path", None, "read the image from a docker-archive (docker/podman save) or an OCI layout "
           "(directory or tar; DIR:TAG selects a tag) instead of a daemon or registry", ("image",), short="-i"),
    Option("image_src", "list", ("docker", "podman", "remote"), "where to look for the image, in order "
           "(containerd, in Trivy's list, is skipped)", ("image",), yaml_key="image.source",
           choices=("docker", "podman", "remote", "containerd")),
    Option("platform", "str", "", "platform of a multi-platform image: os/arch[/variant] (default linux/<this "
           "machine's arch>)", ("image", "k8s"), yaml_key="image.platform"),
    Option("username", "str", "", "registry user name (else docker config.json credentials, else anonymous); "
           "image pulls and oci:// DB downloads", TRIVY_ALL, yaml_key="registry.username",
           ignored="registry credentials apply to image pulls and oci:// DB downloads, and config needs neither",
           ignored_in=NO_REGISTRY),
    Option("password", "str", "", "registry password or token (TRIVY_PASSWORD/VIGIL_PASSWORD or --password-stdin "
           "keep it out of `ps`)", TRIVY_ALL, yaml_key="registry.password",
           ignored="registry credentials apply to image pulls and oci:// DB downloads, and config needs neither",
           ignored_in=NO_REGISTRY),
    Option("password_stdin", "bool", False, "read the registry password from standard input", TRIVY_ALL,
           yaml_key="registry.password-stdin",
           ignored="registry credentials apply to image pulls and oci:// DB downloads, and config needs neither",
           ignored_in=NO_REGISTRY),
    Option("registry_token", "str", "", "registry bearer token", TRIVY_ALL, yaml_key="registry.token",
           ignored="registry credentials apply to image pulls and oci:// DB downloads, and config needs neither",
           ignored_in=NO_REGISTRY),
    Option("insecure", "bool", False, "allow plain-HTTP registries and skip TLS verification (image pulls, DB "
           "downloads, the vigil server in client mode)", TRIVY_ALL, yaml_key="registry.insecure"),
    Option("cacert", "path", None, "CA bundle (PEM) for TLS: registries, DB downloads, the vigil server in client "
           "mode", TRIVY_ALL, yaml_key="registry.ca"),
    Option("branch", "str", "", "repo: branch to scan (default: the remote's default branch)", ("repo",)),
    Option("tag", "str", "", "repo: tag to scan", ("repo",)),
    Option("commit", "str", "", "repo: commit to scan (full or abbreviated sha)", ("repo",)),
    Option("cache_backend", "str", "fs", "analysis cache of image layers: fs (SQLite under --cache-dir), memory, "
           "none, or redis://[user:pass@]HOST:PORT[/DB] (shared); directories are never cached", TRIVY_ALL,
           yaml_key="cache.backend",
           ignored="directories are never cached (image layers are)", ignored_in=NOT_CACHED),
    Option("cache_ttl", "str", "0", "analysis cache entries older than this are analysed again (e.g. 72h, 30m, "
           "3600; 0 = keep)", (*TRIVY_ALL, "clean"), yaml_key="cache.ttl",
           ignored="directories are never cached (image layers are)", ignored_in=NOT_CACHED),
    Option("exit_on_eol", "int", 0, "exit code when the scanned OS is past its end of life (0-255)",
           ("image", "rootfs", "sbom")),
    Option("db_repository", "list", (), "where to download the DB from, in order: oci://REGISTRY/REPO:TAG or "
           "https://HOST/DIR/ (a plain HTTP(S) directory); the next one is tried on 429/5xx/timeouts",
           (*VULN, "db", "server"), yaml_key="db.repository", metavar="URL,…"),
    Option("skip_db_update", "bool", False, "never download the DB; scan with the one on disk", (*VULN, "server"),
           yaml_key="db.skip-update"),
    Option("download_db_only", "bool", False, "download/update the DB, then exit without scanning", (*VULN, "server"),
           yaml_key="db.download-only"),
    Option("offline_scan", "bool", False, "no network at all during the scan (implies --skip-db-update)",
           (*VULN,), yaml_key="db.offline-scan"),
    Option("server", "str", "", "client mode: analyse here, detect on this vigil server (http(s)://HOST:PORT)",
           CLIENT, yaml_key="server.addr"),
    Option("token", "str", "", "token for the vigil server (client mode); on the command line it shows in `ps` to "
           "other users: VIGIL_TOKEN or --token-file keep it out; server: the one token clients must send",
           (*CLIENT, "server"), yaml_key="server.token"),
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
    # ---- Trivy's flags that Vigil had no equivalent for: applied where they apply, else accepted with a warning
    Option("timeout", "str", "", "stop the scan with an error after this long (e.g. 5m0s, 90s, 300ms; default: no "
           "limit)", TRIVY_ALL, ignored="a server runs until stopped", ignored_in=("server",)),
    Option("no_progress", "bool", False, "no progress bars", (*VULN, "server"), yaml_key="db.no-progress"),
    Option("generate_default_config", "bool", False, "write every config key with its default to "
           "vigil-default.yaml and exit", TRIVY_ALL),
    Option("ignore_status", "list", (), "vulnerability statuses to leave out of the report", VULN,
           yaml_key="vulnerability.ignore-status",
           choices=("unknown", "not_affected", "affected", "fixed", "under_investigation", "will_not_fix",
                    "fix_deferred", "end_of_life")),
    Option("ignore_policy", "path", None, "Rego file deciding per finding whether to drop it (package trivy: "
           "`ignore` true drops the finding given as input, as in Trivy)", SCAN),
    Option("file_patterns", "list", (), "extra file names for an analyzer, TYPE:REGEX (e.g. "
           "pip:requirements-.*\\.txt, dockerfile:.*\\.docker)", SCAN, yaml_key="scan.file-patterns",
           metavar="TYPE:REGEX,…"),
    Option("distro", "str", "", "the OS as FAMILY/VERSION (e.g. alpine/3.19) instead of the detected one",
           (*VULN,), yaml_key="scan.distro"),
    Option("detection_priority", "str", "precise", "precise: fewer false positives; comprehensive: fewer false "
           "negatives, as in Trivy (unpinned requirements.txt lines at their lowest allowed version, Go stdlib from "
           "go.mod's go line, Dart SDK packages, and language packages an OS package installed)", (*VULN,),
           yaml_key="scan.detection-priority", choices=("precise", "comprehensive")),
    Option("misconfig_scanners", "list", (), "config types to check (dockerfile, kubernetes, helm, compose; "
           "default all); Trivy's others are accepted and not scanned", MISCONF,
           yaml_key="misconfiguration.scanners",
           choices=("dockerfile", "kubernetes", "helm", "compose", "azure-arm", "cloudformation", "terraform",
                    "terraformplan-json", "terraformplan-snapshot", "ansible")),
    Option("helm_set_string", "list", (), "Helm values on the command line kept as strings, like helm "
           "--set-string (key1=val1,…; applied after --helm-set)", MISCONF,
           yaml_key="misconfiguration.helm.set-string", metavar="KEY=VAL,…"),
    Option("helm_set_file", "list", (), "Helm values read from files, like helm --set-file (key1=path1,…; "
           "applied last)", MISCONF, yaml_key="misconfiguration.helm.set-file", metavar="KEY=PATH,…"),
    Option("helm_api_versions", "list", (), "extra API versions Helm renders for (Capabilities.APIVersions, e.g. "
           "policy/v1/PodDisruptionBudget)", MISCONF, yaml_key="misconfiguration.helm.api-versions",
           metavar="GROUP/VERSION[/KIND],…"),
    Option("k8s_version", "str", "", "Kubernetes version to judge deprecated APIs against: only APIs removed in it "
           "or before are reported (default: every removed API)", ("config",), yaml_key="kubernetes.k8s-version"),
    Option("table_mode", "list", ("summary", "detailed"), "tables of the table format", REPORT,
           choices=("summary", "detailed")),
    Option("custom_headers", "list", (), "client mode: extra HTTP headers (NAME:VALUE) sent to the vigil server",
           CLIENT, yaml_key="server.custom-headers", metavar="NAME:VALUE,…"),
    Option("docker_host", "str", "", "Docker daemon socket (unix:///path or a path)", ("image",),
           yaml_key="image.docker.host"),
    Option("podman_host", "str", "", "Podman socket (unix:///path or a path)", ("image",),
           yaml_key="image.podman.host"),
    Option("image_config_scanners", "list", (), "what to look for in the image's config: secret (its env, "
           "labels and history; with the secret scanner on), misconfig (its history as a Dockerfile, also done by "
           "--scanners misconfig)", ("image",), yaml_key="image.image-config-scanners",
           choices=("misconfig", "secret")),
    Option("max_image_size", "str", "", "refuse an image whose layers are larger than this in all (e.g. 500MB, "
           "2GiB)", ("image",), yaml_key="image.max-size"),
    *(Option(name, kind, None if kind == "path" else False, text, TRIVY_ALL, yaml_key=f"cache.redis.{name[6:]}",
             ignored="directories are never cached (image layers are)", ignored_in=NOT_CACHED)
      for name, kind, text in _REDIS_TLS),
    # Asked of Trivy not to do what Vigil never does: honoured as they stand, nothing to warn about.
    Option("skip_check_update", "bool", False, "accepted for Trivy scripts: the checks are built in and never "
           "downloaded", MISCONF, yaml_key="rego.skip-check-update"),
    Option("skip_java_db_update", "bool", False, "accepted for Trivy scripts: there is no Java DB to update", VULN,
           yaml_key="db.java-skip-update"),
    Option("skip_vex_repo_update", "bool", False, "accepted for Trivy scripts: no VEX repository is downloaded",
           VULN, yaml_key="vulnerability.skip-vex-repo-update"),
    Option("skip_version_check", "bool", False, "accepted for Trivy scripts: Vigil never checks for new versions",
           SCAN, yaml_key="scan.skip-version-check"),
    Option("disable_telemetry", "bool", False, "accepted for Trivy scripts: Vigil sends no telemetry", SCAN,
           yaml_key="scan.disable-telemetry"),
    # Trivy features that do not exist here: accepted, one warning line when set.
    *(Option(n, k, d, f"Trivy's --{n.replace('_', '-')}: accepted, not applied ({why})", cmds, yaml_key=key,
             ignored=why)
      for n, k, d, cmds, key, why in _IGNORED),
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
    Option("store_prune_interval", "str", "1h", "server: how often to drop the full reports past the retention "
           "from every target (e.g. 1h, 30m; 0: only when a target is published to)", ("server",),
           yaml_key="store.prune-interval"),
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


# The trivy.yaml key of every Trivy flag (Trivy's pkg/flag ConfigName), by option name: TRIVY_<NAME> and these keys
# are read when the VIGIL_* variable and the vigil.yaml key are absent, so a Trivy set-up works unchanged.
TRIVY_KEYS: dict[str, str] = {
    "cache_dir": "cache.dir", "config": "config", "quiet": "quiet", "debug": "debug", "scanners": "scan.scanners",
    "severity": "severity", "exit_code": "exit-code", "ignore_unfixed": "vulnerability.ignore-unfixed",
    "ignorefile": "ignorefile", "include_dev_deps": "pkg.include-dev-deps", "skip_dirs": "scan.skip-dirs",
    "skip_files": "scan.skip-files", "format": "format", "output": "output", "list_all_pkgs": "list-all-pkgs",
    "secret_config": "secret.config", "parallel": "scan.parallel",
    "include_non_failures": "misconfiguration.include-non-failures", "config_check": "rego.check",
    "config_data": "rego.data", "check_namespaces": "rego.namespaces",
    "include_deprecated_checks": "rego.include-deprecated-checks", "helm_values": "misconfiguration.helm.values",
    "helm_set": "misconfiguration.helm.set", "helm_kube_version": "misconfiguration.helm.kube-version",
    "template": "template", "vex": "vulnerability.vex", "show_suppressed": "scan.show-suppressed",
    "pkg_types": "pkg.types", "pkg_relationships": "pkg.relationships", "dependency_tree": "dependency-tree",
    "ignored_licenses": "license.ignored", "input": "image.input", "image_src": "image.source",
    "platform": "image.platform", "username": "registry.username", "password": "registry.password",
    "password_stdin": "registry.password-stdin", "registry_token": "registry.token", "insecure": "insecure",
    "cacert": "cacert", "cache_backend": "cache.backend", "cache_ttl": "cache.ttl", "exit_on_eol": "exit-on-eol",
    "db_repository": "db.repository", "skip_db_update": "db.skip-update", "download_db_only": "db.download-only",
    "offline_scan": "scan.offline", "server": "server.addr", "token": "server.token",
    "token_header": "server.token-header", "listen": "server.listen",
    "timeout": "timeout", "generate_default_config": "generate-default-config", "branch": "repository.branch",
    "tag": "repository.tag", "commit": "repository.commit",
    **{o.name: o.key for o in OPTIONS if o.name in (
        "no_progress", "ignore_status", "ignore_policy", "file_patterns", "distro", "detection_priority",
        "misconfig_scanners", "helm_set_string", "helm_set_file", "helm_api_versions", "k8s_version", "table_mode",
        "custom_headers", "docker_host", "podman_host", "image_config_scanners", "max_image_size", "redis_ca",
        "redis_cert", "redis_key", "redis_tls", "skip_check_update", "skip_java_db_update", "skip_vex_repo_update",
        "skip_version_check", "disable_telemetry") or o.ignored},
}

def parse_duration(text: str) -> float:
    """"72h", "30m", "45s", "2d", "1h30m", Go's "5m0s" and "300ms", or plain seconds -> seconds. Raises
    SettingsError."""
    import re

    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|[dhms])", t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise SettingsError(f"invalid duration {text!r} (expected e.g. 72h, 30m, 1h30m or seconds)")
    mult = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
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
                                               ("repo", "scanners"): ("vuln", "secret"),
                                               ("sbom", "scanners"): ("vuln",)}

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
        if opt.kind == "path":  # "" is no file (Trivy's `--ignorefile ""`, `secret.config: ""`)
            return None if value is None or str(value) == "" else Path(str(value)).expanduser()
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


log = get_logger(__name__)

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
    "trust_config", "password_stdin", "custom_headers", "docker_host", "podman_host", "redis_ca", "redis_cert",
    "redis_key", "redis_tls", "helm_set_file", "generate_default_config",
    # a scanned repository's own vigil.yaml must not send its report (or a token) to a store of its choosing
    "publish", "publish_token", "store", "webhook", "slack_webhook", "read_only_token_file", "auth_proxy_user_header",
})
# Options naming files to read: from an implicit config file they must stay inside the working directory.
_PATH_OPTIONS = frozenset({"ignorefile", "secret_config", "vex", "config_check", "config_data", "helm_values",
                           "ignore_policy"})
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
            if v not in (None, "", [], False):  # an empty value (a generated trivy.yaml has many) asks for nothing
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


# A command that takes another command's flags as well as its own (e.g. a `k8s` command taking `image`'s):
# {command: the command whose flags it shares}. options_for() is what both the CLI and resolve() read.
SHARES_FLAGS_OF: dict[str, str] = {}


def options_for(command: str) -> list[Option]:
    other = SHARES_FLAGS_OF.get(command)
    return [o for o in OPTIONS if command in o.commands or (other is not None and other in o.commands)]


def _config_named(cli: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The config file the user named (--config, VIGIL_CONFIG, else TRIVY_CONFIG); "" when named empty (no file,
    as in Trivy); None when none was named."""
    if "config" in cli and cli["config"] is not None:
        return str(cli["config"])
    for name in (BY_NAME["config"].env, "TRIVY_CONFIG"):
        if name in env:
            return env[name]
    return None


def _default_config_file(vigil_default: Path) -> Path:
    """vigil.yaml in the working directory, else Trivy's trivy.yaml (so a Trivy set-up works unchanged)."""
    if os.path.lexists(vigil_default) or not os.path.lexists(TRIVY_CONFIG_FILE):
        return vigil_default
    return Path(TRIVY_CONFIG_FILE)


TRIVY_CONFIG_FILE = "trivy.yaml"
# Sections of trivy.yaml that only Trivy commands Vigil lacks read (`trivy k8s`, `trivy aws`, `trivy vm`…): a key
# under one of them that no Vigil option reads is one warning line, where an unknown key elsewhere (a typo) is an
# error.
TRIVY_SECTIONS = frozenset({"kubernetes", "cloud", "aws", "vm", "repository", "sbom", "clean", "module", "ansible"})
# Trivy's own defaults of the options accepted and not applied: a trivy.yaml written by `trivy
# --generate-default-config` sets them all, and should not warn.
_TRIVY_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "checks_bundle_repository": ("mirror.gcr.io/aquasec/trivy-checks:2",),
    "rego_error_limit": (10,),
    "java_db_repository": (("mirror.gcr.io/aquasec/trivy-java-db:1", "ghcr.io/aquasecurity/trivy-java-db:1"),),
    "license_confidence_level": ("0.9",),
    "rekor_url": ("https://rekor.sigstore.dev",),
    "vuln_severity_source": (("auto",),),
    "report": ("all", "summary"),
    "cache_backend": ("memory", "fs"),
    "cache_ttl": ("0s", "0"),
}


# Options Trivy's config declares as lists where Vigil takes one (comma-separated) string.
_TRIVY_LISTS = frozenset({"username", "password"})


def _trivy_default(o: Option, value: Any) -> bool:
    if value in (None, (), "", False) or value == o.default or value in _TRIVY_DEFAULTS.get(o.name, ()):
        return True
    return o.name == "module_dir" and Path(str(value)).parts[-2:] == (".trivy", "modules")


def _trivy_keys_mapped(cfg_path: Path, file_values: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """A config file's keys as Vigil's: Trivy's keys (matched without case, like Trivy's own reader) become the
    Vigil key of the same option unless the Vigil key is set too. Unknown keys are an error, except the keys of
    Trivy's sections Vigil does not read (one warning line)."""
    known = {o.key for o in OPTIONS}
    by_trivy = {o.trivy_key.lower(): o for o in OPTIONS if o.trivy_key}
    out: dict[str, Any] = {}
    unknown, foreign = [], []
    for k, v in file_values.items():
        if k in known:
            out[k] = v
        elif k.lower() in by_trivy:
            out.setdefault(by_trivy[k.lower()].key, v)
        elif k.split(".", 1)[0].lower() in TRIVY_SECTIONS or k.lower() in ("version", "generate-default-config"):
            if v not in (None, "", [], False, {}):  # a generated trivy.yaml sets every key, mostly empty
                foreign.append(k)
        else:
            unknown.append(k)
    if unknown:
        raise SettingsError(f"config file {cfg_path}: unknown key(s): {', '.join(sorted(unknown))}")
    if foreign:
        notes.append(f"config file {cfg_path}: not used by Vigil: {', '.join(sorted(foreign))}")
    return out


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
    opts = options_for(command)
    cfg_opt = BY_NAME["config"]
    cfg_value = _config_named(cli, env)
    trust_all = _trust_requested(cli, env)
    file_trusted = bool(cfg_value) or trust_all
    if cfg_value == "":  # `--config ""` (Trivy's way): no config file at all
        cfg_path, file_values = Path(), {}
    else:
        cfg_path = Path(cfg_value) if cfg_value else _default_config_file(Path(cfg_opt.default))
        file_values = load_config_file(cfg_path, explicit=bool(cfg_value), trusted=file_trusted, warnings=notes)
    file_values = _trivy_keys_mapped(cfg_path, file_values, notes)
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
            if isinstance(v, list) and o.name in _TRIVY_LISTS and all(isinstance(i, str) for i in v):
                v = ",".join(v) or None  # Trivy's lists (registry.username: [a, b]) for Vigil's one string
            if v is not None:
                _check_file_type(o, v, origin)
        if o.env in env:
            v, origin, from_untrusted = env[o.env], f"environment variable {o.env}", False
        elif o.trivy_env and o.trivy_env in env:
            v, origin, from_untrusted = env[o.trivy_env], f"environment variable {o.trivy_env}", False
        if o.name in cli:
            v, origin, from_untrusted = cli[o.name], f"flag {o.flag}", False
        values[o.name] = _coerce(o, v, origin) if v is not None else None
        if from_untrusted and o.name in _IMPLICIT_FILE_OPTIONS:
            untrusted.add(o.name)
        if (o.ignored and origin != "default" and (not o.ignored_in or command in o.ignored_in)
                and not _trivy_default(o, values[o.name])):
            notes.append(f"{o.flag} is accepted for Trivy compatibility but not applied: {o.ignored}")
    values[UNTRUSTED_FILES] = frozenset(untrusted)
    if "crypto" in (values.get("scanners") or ()):  # Trivy's image scanner for cryptographic assets
        values["scanners"] = tuple(s for s in values["scanners"] if s != "crypto") or ("vuln",)
        notes.append("--scanners crypto is accepted for Trivy compatibility but not applied: cryptographic assets "
                     "are not inventoried")
    repos = values.get("db_repository")
    if repos and any("trivy-db" in r or "trivy-java-db" in r for r in repos):
        # Trivy's own DB repositories hold Trivy's DB format, which Vigil does not read: a trivy.yaml or
        # TRIVY_DB_REPOSITORY naming them (a generated default config does) must not become a failed download
        values["db_repository"] = tuple(r for r in repos if "trivy-db" not in r and "trivy-java-db" not in r)
        notes.append("ignoring Trivy's DB repositories in --db-repository: Vigil reads its own DB")
    if warnings is None:
        for n in notes:
            log.warning("%s", n)
    return values


class RegistryAuth(NamedTuple):  # NamedTuples: cheaper to define than dataclasses (see Option)
    """How to reach the registry or mirror a DB is downloaded from: the flags (--username, --password,
    --registry-token, --insecure, --cacert); what they leave empty comes from the VIGIL_*/TRIVY_* variables."""

    username: str = ""
    password: str = ""
    token: str = ""
    insecure: bool = False
    cacert: str = ""


def registry_auth(values: Mapping[str, Any]) -> RegistryAuth:
    return RegistryAuth(username=str(values.get("username") or ""), password=str(values.get("password") or ""),
                        token=str(values.get("registry_token") or ""), insecure=bool(values.get("insecure")),
                        cacert=str(values.get("cacert") or ""))


class DBOptions(NamedTuple):
    """Where the DB is and how a scan may update it."""

    db_path: Path
    repositories: tuple[str, ...] = ()  # --db-repository, in order of preference
    skip_update: bool = False
    offline: bool = False
    download_only: bool = False
    needed: bool = True  # False in client mode (the server matches) or without the vuln scanner
    progress: bool = False
    registry: RegistryAuth = RegistryAuth()


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
        registry=registry_auth(values),
    )


def scan_options(target: Path, values: Mapping[str, Any]) -> ScanOptions:
    from vigil.scan_options import ScanOptions

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
        helm_set_string=tuple(values.get("helm_set_string") or ()),
        helm_set_file=tuple(values.get("helm_set_file") or ()),
        helm_api_versions=tuple(values.get("helm_api_versions") or ()),
        compiled_cache_dir=(Path(values["cache_dir"]) if values.get("cache_dir") else default_cache_dir()) / "compiled",
        ignore_status=tuple(values.get("ignore_status") or ()),
        misconfig_scanners=tuple(values.get("misconfig_scanners") or ()),
        k8s_version=str(values.get("k8s_version") or ""),
        distro=_distro(values.get("distro")),
        file_patterns=tuple(values.get("file_patterns") or ()),
        detection_priority=str(values.get("detection_priority") or "precise"),
        image_config_scanners=tuple(values.get("image_config_scanners") or ()),
        ignore_policy=values.get("ignore_policy"),
    )


def _distro(value: Any) -> str:
    text = str(value or "").strip()
    family, sep, version = text.partition("/")
    if text and (not sep or not family or not version or "/" in version):
        raise SettingsError(f"--distro {text!r}: expected FAMILY/VERSION (e.g. alpine/3.19, debian/12)")
    return text


def _paths(value: Any) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in value or ())


def __getattr__(name: str) -> Any:
    """`vigil.settings.ScanOptions`, where callers have always found it, defined in vigil.scan_options: a msgspec
    Struct, whose module this one (loaded by `--help` too) does not import."""
    if name == "ScanOptions":
        from vigil.scan_options import ScanOptions

        return ScanOptions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
