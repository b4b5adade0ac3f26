"""Secrets in a container image's config (Trivy's `--image-config-scanners secret`): environment variables, the
history's `created_by` lines (RUN commands with a token in them), labels, the command.

Trivy does not scan the config file as the image stores it: it decodes it into go-containerregistry's
`v1.ConfigFile` and scans `json.MarshalIndent(config, "  ", "")` as a file named `config.json`. The line numbers
of its findings are lines of that text, so `trivy_config_json` writes the same text (the struct's field order and
omitempty rules, Go's escaping of `<`, `>`, `&`, zero times as 0001-01-01T00:00:00Z): the findings' lines equal
Trivy's. Fields the struct does not have (`container_config`, a builder's extras) are left out there too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# path the config is scanned as (Trivy's); the report names the image instead, as Trivy does
CONFIG_PATH = "config.json"

_ZERO_TIME = "0001-01-01T00:00:00Z"
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$")

# v1.Config's fields in declaration order, with their kind
_CONFIG_FIELDS: tuple[tuple[str, str], ...] = (
    ("AttachStderr", "bool"), ("AttachStdin", "bool"), ("AttachStdout", "bool"), ("Cmd", "strings"),
    ("Healthcheck", "health"), ("Domainname", "str"), ("Entrypoint", "strings"), ("Env", "strings"),
    ("Hostname", "str"), ("Image", "str"), ("Labels", "labels"), ("OnBuild", "strings"), ("OpenStdin", "bool"),
    ("StdinOnce", "bool"), ("Tty", "bool"), ("User", "str"), ("Volumes", "set"), ("WorkingDir", "str"),
    ("ExposedPorts", "set"), ("ArgsEscaped", "bool"), ("NetworkDisabled", "bool"), ("MacAddress", "str"),
    ("StopSignal", "str"), ("Shell", "strings"),
)


def _get(obj: Mapping[str, Any], key: str) -> Any:
    """Go's decoder matches keys without case when no exact match exists."""
    if key in obj:
        return obj[key]
    low = key.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == low), None)


def _time(value: Any) -> str:
    """Go's time.Time in JSON (RFC 3339 with nanoseconds, trailing zeros dropped, a zero offset as Z)."""
    m = _TIME.match(value) if isinstance(value, str) else None
    if m is None:
        return _ZERO_TIME
    frac = (m.group(2) or "")[:9].rstrip("0")
    zone = "Z" if m.group(3) in ("Z", "z", "+00:00", "-00:00") else m.group(3)
    return f"{m.group(1)}{'.' + frac if frac else ''}{zone}"


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        return None
    return [v if isinstance(v, str) else json.dumps(v) for v in value]


def _config(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(raw, Mapping):
        return out
    for key, kind in _CONFIG_FIELDS:
        v = _get(raw, key)
        if kind == "bool":
            if v is True:
                out[key] = True
        elif kind == "str":
            if isinstance(v, str) and v:
                out[key] = v
        elif kind == "strings":
            if (s := _strings(v)) is not None:
                out[key] = s
        elif kind == "labels":
            if isinstance(v, Mapping) and v:
                out[key] = {str(k): str(v[k]) for k in sorted(v, key=str)}
        elif kind == "set":
            if isinstance(v, Mapping) and v:
                out[key] = {str(k): {} for k in sorted(v, key=str)}
        elif kind == "health" and isinstance(v, Mapping):
            hc: dict[str, Any] = {}
            if (t := _strings(_get(v, "Test"))) is not None:
                hc["Test"] = t
            for k in ("Interval", "Timeout", "StartPeriod", "Retries"):
                n = _get(v, k)
                if isinstance(n, int) and not isinstance(n, bool) and n:
                    hc[k] = n
            out[key] = hc
    return out


def _history(raw: Any) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list) or not raw:
        return None
    out = []
    for h in raw:
        h = h if isinstance(h, Mapping) else {}
        item: dict[str, Any] = {}
        if isinstance(a := _get(h, "author"), str) and a:
            item["author"] = a
        item["created"] = _time(_get(h, "created"))
        for k in ("created_by", "comment"):
            if isinstance(s := _get(h, k), str) and s:
                item[k] = s
        if _get(h, "empty_layer") is True:
            item["empty_layer"] = True
        out.append(item)
    return out


def _go_compact(obj: Any) -> str:
    """Go's json.Marshal of the ordered structure: no spaces, HTML characters and U+2028/2029 escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _go_indent(compact: str, prefix: str) -> str:
    """Go's json.Indent with an empty indent: every new line starts with `prefix`; `{}` and `[]` stay as they
    are; `: ` after a key."""
    out: list[str] = []
    in_string = escaped = False
    need_newline = False  # after `{`/`[`: the newline waits for the first value (an empty one stays `{}`)
    for ch in compact:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if need_newline and ch not in "]}":
            out.append("\n" + prefix)
        need_newline = False
        if ch == '"':
            in_string = True
            out.append(ch)
        elif ch in "{[":
            out.append(ch)
            need_newline = True
        elif ch == ",":
            out.append(",\n" + prefix)
        elif ch == ":":
            out.append(": ")
        elif ch in "]}":
            if out and out[-1] in ("{", "["):
                out.append(ch)
            else:
                out.append("\n" + prefix + ch)
        else:
            out.append(ch)
    return "".join(out)


def trivy_config_json(image_config: Mapping[str, Any]) -> bytes:
    """The text Trivy scans for an image config (see the module docstring)."""
    cf: dict[str, Any] = {"architecture": str(_get(image_config, "architecture") or "")}
    for k in ("author", "container"):
        if isinstance(v := _get(image_config, k), str) and v:
            cf[k] = v
    cf["created"] = _time(_get(image_config, "created"))
    if isinstance(v := _get(image_config, "docker_version"), str) and v:
        cf["docker_version"] = v
    if (hist := _history(_get(image_config, "history"))) is not None:
        cf["history"] = hist
    cf["os"] = str(_get(image_config, "os") or "")
    rootfs = _get(image_config, "rootfs")
    rootfs = rootfs if isinstance(rootfs, Mapping) else {}
    diff_ids = _get(rootfs, "diff_ids")
    cf["rootfs"] = {"type": str(_get(rootfs, "type") or ""),
                    "diff_ids": [str(d) for d in diff_ids] if isinstance(diff_ids, list) else None}
    cf["config"] = _config(_get(image_config, "config"))
    for k in ("os.version", "variant"):
        if isinstance(v := _get(image_config, k), str) and v:
            cf[k] = v
    if (feats := _strings(_get(image_config, "os.features"))) is not None:
        cf["os.features"] = feats
    return _go_indent(_go_compact(cf), "  ").encode("utf-8")
