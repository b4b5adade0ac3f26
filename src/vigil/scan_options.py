"""ScanOptions: what the engine needs for one scan; nothing CLI-specific (vigil.settings builds it from the flags,
the environment and the config file, and names it too: `from vigil.settings import ScanOptions` keeps working).

A frozen msgspec Struct, not a dataclass: every scan defines the class, and a dataclass of 43 fields cost ~3.5 ms to
define (its methods are generated as source and compiled), a Struct ~0.02 ms. Copy one with changes with
`msgspec.structs.replace(opts, parallel=1)`. Kept apart from vigil.settings, which `--help` loads without msgspec.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

# vigil.settings.SEVERITY_NAMES (a test holds the two equal): this module imports nothing of Vigil's
SEVERITY_NAMES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class ScanOptions(msgspec.Struct, frozen=True):
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
    license_categories: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
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
    helm_set_string: tuple[str, ...] = ()
    helm_set_file: tuple[str, ...] = ()  # KEY=PATH expressions; the files are read with the other inputs
    helm_api_versions: tuple[str, ...] = ()
    # where compiled matchers (the secret engine's hyperscan database) are kept between runs; None: compiled anew
    compiled_cache_dir: Path | None = None
    # report filters from Trivy: vulnerability statuses left out, a Rego policy deciding per finding
    ignore_status: tuple[str, ...] = ()
    ignore_policy: Path | None = None
    # --misconfig-scanners: the config types reported (empty: all); --k8s-version: the cluster the deprecated-API
    # check judges against ("": every removed API is reported)
    misconfig_scanners: tuple[str, ...] = ()
    k8s_version: str = ""
    distro: str = ""  # --distro FAMILY/VERSION
    file_patterns: tuple[str, ...] = ()  # --file-patterns TYPE:REGEX
    image_config_scanners: tuple[str, ...] = ()  # --image-config-scanners: secret, misconfig
    detection_priority: str = "precise"  # --detection-priority: "comprehensive" reads versions Trivy's way too
