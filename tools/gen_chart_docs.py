"""The values table of the vigil-operator chart's README and its values.schema.json, from values.yaml and its
`# -- description` comments.

A key documented by a `# --` comment on the line(s) above it is one row (its default is the whole value below it,
e.g. a resources block); a mapping without such a comment is documented through its keys. The JSON schema (which
Helm checks values against on install, upgrade, template and lint) takes each key's type from its default, the
descriptions from the comments, and refuses unknown keys except inside free-form maps (resources, selectors,
labels, ...). `--check` exits 1 when README.md or values.schema.json is not current, or a value is documented
nowhere (tests run it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "vigil-operator"
BEGIN, END = "<!-- values-table:begin -->", "<!-- values-table:end -->"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?:\s|$)")


def documented(text: str) -> dict[str, str]:
    """Dotted key → description, in file order."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing mappings
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
            continue
        if stripped.startswith("#") and pending:
            pending.append(stripped.lstrip("#").strip())
            continue
        m = _KEY.match(line)
        if not m:
            if stripped and not stripped.startswith("-"):
                pending = []
            continue
        indent = len(m["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [m["key"]])
        if pending:
            out[path] = " ".join(pending)
            pending = []
        stack.append((indent, m["key"]))
    return out


def undocumented(values: dict[str, Any], docs: dict[str, str], prefix: str = "") -> list[str]:
    """Keys whose value is documented neither by their own comment nor by an enclosing key's."""
    missing: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if path in docs:
            continue
        if isinstance(value, dict) and value:
            missing += undocumented(value, docs, path + ".")
        else:
            missing.append(path)
    return missing


def _get(values: dict[str, Any], path: str) -> Any:
    cur: Any = values
    for part in path.split("."):
        cur = cur[part]
    return cur


def _type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}.get(
        type(value), "string")


def table() -> str:
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for path, desc in documented(text).items():
        value = _get(values, path)
        default = json.dumps(value, separators=(",", ":")).replace("|", r"\|")
        desc = desc.replace("|", r"\|")
        rows.append(f"| `{path}` | {_type(value)} | `{default}` | {desc} |")
    return "\n".join(rows)


ENUMS = {"operator.installMode": ["AllNamespaces", "ListOfNamespaces", "OwnNamespace"],
         "scanJob.mode": ["ClientServer", "Standalone"],
         "image.pullPolicy": ["Always", "IfNotPresent", "Never"]}
STRING_LISTS = {"imagePullSecrets", "operator.targetNamespaces", "operator.excludeNamespaces",
                "server.dbRepositories", "privateRegistry.secretNames", "metrics.prometheusRule.disabled"}
NUMBERS = {"scanJob.retryBackoffSeconds", "operator.interval"}  # integers in values.yaml, fractions allowed
POSITIVE = {"scanJob.concurrentLimit", "scanJob.timeoutSeconds", "reports.ttlSeconds", "reports.maxFindings",
            "reports.maxBytes", "server.port", "operator.metricsPort", "server.storeRetentionDays"}


def _schema(value: Any, path: str, docs: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if path in docs:
        out["description"] = docs[path]
    known = set(docs) | _prefixes(docs)
    if isinstance(value, dict) and any(f"{path}.{k}" in known for k in value):
        out.update({"type": "object", "additionalProperties": False, "properties": {
            k: _schema(v, f"{path}.{k}" if path else k, docs) for k, v in value.items()}})
    elif isinstance(value, dict):
        out["type"] = "object"  # free-form: resources, selectors, affinity, labels, annotations
    elif isinstance(value, list):
        out.update({"type": "array"})
        if path in STRING_LISTS:
            out["items"] = {"type": "string"}
    elif isinstance(value, bool):
        out["type"] = "boolean"
    elif isinstance(value, int):
        out["type"] = "number" if path in NUMBERS else "integer"
        if path in POSITIVE:
            out["minimum"] = 1
    elif isinstance(value, float):
        out["type"] = "number"
    else:
        out["type"] = "string"
        if path in ENUMS:
            out["enum"] = ENUMS[path]
    return out


def _prefixes(docs: dict[str, str]) -> set[str]:
    return {".".join(k.split(".")[:i]) for k in docs for i in range(1, k.count(".") + 1)}


def schema() -> str:
    text = (CHART / "values.yaml").read_text()
    docs = documented(text)
    values = yaml.safe_load(text)
    root = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "vigil-operator values",
            "type": "object", "additionalProperties": False,
            "properties": {k: _schema(v, k, docs) for k, v in values.items()}}
    return json.dumps(root, indent=2) + "\n"


def readme(current: str) -> str:
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = (CHART / "values.yaml").read_text()
    missing = undocumented(yaml.safe_load(text), documented(text))
    path = CHART / "README.md"
    current = path.read_text()
    if BEGIN not in current or END not in current:
        print(f"{path}: no {BEGIN} ... {END} markers", file=sys.stderr)
        return 1
    new = readme(current)
    schema_path = CHART / "values.schema.json"
    new_schema = schema()
    if "--check" in argv:
        for key in missing:
            print(f"values.yaml: {key} has no '# --' comment", file=sys.stderr)
        stale = [p.name for p, text in ((path, new), (schema_path, new_schema))
                 if not p.is_file() or p.read_text() != text]
        for name in stale:
            print(f"deploy/helm/vigil-operator/{name} is not current: run python tools/gen_chart_docs.py",
                  file=sys.stderr)
        return 1 if missing or stale else 0
    for key in missing:
        print(f"values.yaml: {key} has no '# --' comment", file=sys.stderr)
    path.write_text(new)
    schema_path.write_text(new_schema)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
