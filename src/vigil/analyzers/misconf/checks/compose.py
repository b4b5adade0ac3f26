"""docker-compose checks (our own family, VCOMP-0001 …; Trivy has none). Meanings mirror the Kubernetes checks
for the same risk (KSV-0017 privileged, KSV-0009/0010/0008 host namespaces, KSV-0006 docker.sock, KSV-0022
capabilities, KSV-0013 latest tag, KSV-0104 seccomp, KSV-0014 read-only root filesystem)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Literal

from vigil.analyzers.misconf.checks.base import Check, CheckMeta, Failure
from vigil.analyzers.misconf.compose import ComposeDoc, Service

SPEC = "https://docs.docker.com/reference/compose-file/services/"
DANGEROUS_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "NET_ADMIN", "NET_RAW",
                            "DAC_READ_SEARCH", "SYS_BOOT", "SYS_TIME", "MAC_ADMIN", "BPF", "PERFMON"})
_SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL",
                         re.IGNORECASE)
_NOT_SECRET_KEY = re.compile(r"(_FILE|_PATH|_DIR|_URL|_HOST|_PORT)$", re.IGNORECASE)
_INTERP = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*(?:[:?-][^}]*)?\}?$")


def _c(num: int, title: str, sev: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"], desc: str, res: str,
       run: Callable[[ComposeDoc], Iterator[Failure]]) -> Check:
    return Check(meta=CheckMeta(id=f"VCOMP-{num:04d}", title=title, severity=sev, input_type="compose",
                                aliases=(f"VCOMP{num:03d}",), description=desc, resolution=res,
                                references=(SPEC,), namespace=f"builtin.compose.VCOMP{num:03d}"), run=run)


def _fail(svc: Service, msg: str, *key: str | int) -> Failure:
    s, e = svc.line_of(*key) if key else (svc.start_line, svc.end_line)
    return Failure(message=msg, start_line=s, end_line=e, resource=f"service '{svc.name}'")


def _flag(key: str, label: str) -> Callable[[ComposeDoc], Iterator[Failure]]:
    def run(doc: ComposeDoc) -> Iterator[Failure]:
        for svc in doc.services:
            if svc.obj.get(key) is True:
                yield _fail(svc, f"Service '{svc.name}' should not set '{key}: true' ({label})", key)
    return run


def _host_ns(key: str) -> Callable[[ComposeDoc], Iterator[Failure]]:
    def run(doc: ComposeDoc) -> Iterator[Failure]:
        for svc in doc.services:
            if str(svc.obj.get(key, "")).lower() == "host":
                yield _fail(svc, f"Service '{svc.name}' should not share the host's namespace ({key}: host)", key)
    return run


def _sock_source(v: Any) -> str:
    if isinstance(v, str):
        return v.split(":", 1)[0]
    if isinstance(v, dict):
        return str(v.get("source", ""))
    return ""


def _docker_sock(doc: ComposeDoc) -> Iterator[Failure]:
    for svc in doc.services:
        vols = svc.obj.get("volumes")
        if not isinstance(vols, list):
            continue
        for n, v in enumerate(vols):
            src = _sock_source(v)
            if src.rstrip("/").endswith("docker.sock"):
                yield _fail(svc, f"Service '{svc.name}' mounts the Docker socket '{src}': full control of the "
                                 f"host's Docker daemon", "volumes", n)


def _caps(doc: ComposeDoc) -> Iterator[Failure]:
    for svc in doc.services:
        caps = svc.obj.get("cap_add")
        if not isinstance(caps, list):
            continue
        for n, c in enumerate(caps):
            name = str(c).upper().removeprefix("CAP_")
            if name in DANGEROUS_CAPS:
                yield _fail(svc, f"Service '{svc.name}' should not add capability '{name}'", "cap_add", n)


def _env_items(svc: Service) -> Iterator[tuple[str, Any, tuple[str | int, ...]]]:
    env = svc.obj.get("environment")
    if isinstance(env, dict):
        for k, v in env.items():
            yield str(k), v, ("environment", str(k))
    elif isinstance(env, list):
        for n, item in enumerate(env):
            if isinstance(item, str) and "=" in item:
                k, _, v = item.partition("=")
                yield k, v, ("environment", n)


def _env_secrets(doc: ComposeDoc) -> Iterator[Failure]:
    for svc in doc.services:
        for key, val, path in _env_items(svc):
            if not _SECRET_KEY.search(key) or _NOT_SECRET_KEY.search(key):
                continue
            if val is None or val == "" or isinstance(val, bool):
                continue
            if isinstance(val, str) and _INTERP.match(val.strip()):
                continue  # `${DB_PASSWORD}` comes from the environment or an .env file: not a literal secret
            yield _fail(svc, f"Service '{svc.name}' has a literal secret in environment variable '{key}'; "
                             f"use Compose secrets or an interpolated variable", *path)


def _latest(doc: ComposeDoc) -> Iterator[Failure]:
    for svc in doc.services:
        img = svc.obj.get("image")
        if not isinstance(img, str) or not img or "$" in img or "@" in img:
            continue
        last = img.rsplit("/", 1)[-1]
        tag = last.rsplit(":", 1)[1] if ":" in last else ""
        if tag == "latest" or (not tag and "build" not in svc.obj):
            yield _fail(svc, f"Service '{svc.name}' should pin image '{img}' to a version tag or digest", "image")


def _unconfined(doc: ComposeDoc) -> Iterator[Failure]:
    for svc in doc.services:
        opts = svc.obj.get("security_opt")
        if not isinstance(opts, list):
            continue
        for n, o in enumerate(opts):
            s = str(o).replace("=", ":").lower().replace(" ", "")
            if s in ("seccomp:unconfined", "apparmor:unconfined", "label:disable", "systempaths:unconfined"):
                yield _fail(svc, f"Service '{svc.name}' disables a security profile: security_opt '{o}'",
                            "security_opt", n)


def _read_only(doc: ComposeDoc) -> Iterator[Failure]:
    for svc in doc.services:
        if svc.obj.get("read_only") is not True:
            where: tuple[str, ...] = ("read_only",) if "read_only" in svc.obj else ()
            yield _fail(svc, f"Service '{svc.name}' should set 'read_only: true' (read-only root filesystem)",
                        *where)


CHECKS = (
    _c(1, "Privileged container", "HIGH",
       "A privileged container has every capability and all host devices: escaping it is trivial.",
       "Remove 'privileged: true'; add only the capabilities the service needs.",
       _flag("privileged", "privileged mode gives full access to the host")),
    _c(2, "Host network namespace shared", "HIGH",
       "network_mode: host lets the service see and bind every host interface and reach services on localhost.",
       "Use a bridge network and publish only needed ports.", _host_ns("network_mode")),
    _c(3, "Host PID namespace shared", "HIGH",
       "pid: host lets the service see and signal every process on the host.", "Remove 'pid: host'.",
       _host_ns("pid")),
    _c(4, "Host IPC namespace shared", "HIGH",
       "ipc: host lets the service read and write the host's shared memory.", "Remove 'ipc: host'.",
       _host_ns("ipc")),
    _c(5, "Docker socket mounted", "HIGH",
       "Mounting /var/run/docker.sock gives the service root-equivalent control of the host through the "
       "Docker API.", "Do not mount the Docker socket; use a socket proxy with a narrow allowlist if needed.",
       _docker_sock),
    _c(6, "Dangerous capabilities added", "HIGH",
       "Capabilities such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE or ALL break container isolation.",
       "Remove the capability from cap_add; prefer 'cap_drop: [ALL]' plus the few capabilities needed.", _caps),
    _c(7, "Secrets in environment", "CRITICAL",
       "A literal password, token or key in the compose file is committed to version control and visible in "
       "'docker inspect'.",
       "Use Compose 'secrets:' or interpolate from the environment ('${DB_PASSWORD}').", _env_secrets),
    _c(8, "Image tag ':latest' or missing", "MEDIUM",
       "An untagged or ':latest' image changes under you: deployments are not reproducible.",
       "Pin the image to a version tag or a digest.", _latest),
    _c(9, "Security profile disabled", "MEDIUM",
       "security_opt seccomp/apparmor 'unconfined' or 'label:disable' removes a kernel hardening layer.",
       "Remove the option or use a custom profile that allows only what is needed.", _unconfined),
    _c(10, "Root filesystem is writable", "LOW",
       "A writable root filesystem lets an attacker modify binaries and persist inside the container.",
       "Set 'read_only: true' and mount writable tmpfs/volumes only where the service writes.", _read_only),
)
