"""Helpers shared by lockfile parsers: decoding, line lookup, package construction."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import yaml

from vigil.analyzers.errors import ParseError
from vigil.inventory.purl import make_purl
from vigil.inventory.records import Location, Package, Relationship

try:  # the C loader is ~10x faster; fall back to the pure-Python one where libyaml is missing
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader


def decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ParseError("binary data, not a text lockfile")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8 text (byte {e.start})") from None


def load_json(data: bytes) -> Any:
    text = decode(data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ParseError("JSON nested too deeply") from None


def load_toml(data: bytes) -> dict[str, Any]:
    text = decode(data)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ParseError(f"invalid TOML: {e}") from None
    except RecursionError:
        raise ParseError("TOML nested too deeply") from None


def load_yaml(data: bytes) -> Any:
    text = decode(data)
    try:
        return yaml.load(text, Loader=_YamlLoader)  # a Safe loader: no arbitrary Python objects
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParseError(f"invalid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    except RecursionError:
        raise ParseError("YAML nested too deeply") from None


def expect(cond: bool, reason: str) -> None:
    if not cond:
        raise ParseError(reason)


class LineIndex:
    """Finds 1-based line numbers of regex matches in a text, computed lazily once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    def line_of(self, offset: int) -> int:
        import bisect

        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return bisect.bisect_right(self._starts, offset)


def package(
    ecosystem: str,
    name: str,
    version: str,
    *,
    file_path: str = "",
    dev: bool = False,
    relationship: Relationship = "unknown",
    depends_on: tuple[str, ...] | list[str] = (),
    lines: tuple[int, int] | None = None,
    licenses: tuple[str, ...] = (),
) -> Package:
    return Package(
        ecosystem=ecosystem,
        name=name,
        version=version,
        id=f"{name}@{version}",
        purl=make_purl(ecosystem, name, version),
        dev=dev,
        relationship=relationship,
        depends_on=tuple(sorted(set(depends_on))),
        locations=(Location(start_line=lines[0], end_line=lines[1]),) if lines else (),
        file_path=file_path,
        licenses=licenses,
    )
