"""The values table of the vigil-operator chart's README, from the `# -- description` comments in values.yaml.

A key documented by a `# --` comment on the line(s) above it is one row (its default is the whole value below it,
e.g. a resources block); a mapping without such a comment is documented through its keys. `--check` exits 1 when
README.md is not current or a value is documented nowhere (tests run it).
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
    if "--check" in argv:
        for key in missing:
            print(f"values.yaml: {key} has no '# --' comment", file=sys.stderr)
        if new != current:
            print("deploy/helm/vigil-operator/README.md is not current: run python tools/gen_chart_docs.py",
                  file=sys.stderr)
        return 1 if missing or new != current else 0
    for key in missing:
        print(f"values.yaml: {key} has no '# --' comment", file=sys.stderr)
    path.write_text(new)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
