"""Secret rules as data: the built-in rule file, the user's vigil-secret.yaml, and the effective rule set.

Field names are trivy-secret.yaml's (reference §5): `rules[]{id,category,title,severity,regex,keywords,path,
allow-rules,exclude-block,secret-group-name}`, `allow-rules[]{id,description,regex,path}`, `enable-builtin-rules[]`,
`disable-rules[]`, `disable-allow-rules[]`, `exclude-block{description,regexes}`, `skip-patterns[]`.
Pure: the config arrives as bytes (the engine reads the file through the source layer).
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from vigil.errors import UserError

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class SecretConfigError(UserError):
    """Malformed secret config (a user error: exit 2)."""


class AllowRule(msgspec.Struct, frozen=True):
    id: str
    description: str = ""
    regex: str = ""  # matched against the whole match (a user's rule) or the secret value (a packaged rule)
    path: str = ""  # matched (search) against the file path relative to the scan root
    # a path rule that lets the high-confidence rules run anyway (Markdown: pasted tokens are real leaks, but the
    # keyword-and-assignment rules would flag every documentation example)
    keep_high_confidence: bool = False


class ExcludeBlock(msgspec.Struct, frozen=True):
    description: str = ""
    regexes: tuple[str, ...] = ()


class Rule(msgspec.Struct, frozen=True):
    id: str
    category: str
    title: str
    severity: str
    regex: str
    keywords: tuple[str, ...] = ()
    path: str = ""
    allow_rules: tuple[AllowRule, ...] = ()
    exclude_block: ExcludeBlock = ExcludeBlock()
    secret_group_name: str = "secret"
    confidence: str = ""  # "high": the token format is unmistakable (see builtin-rules.yaml)
    # matches count only within `near_distance` bytes of a match of rule `near` (a Vigil extension)
    near: str = ""
    near_distance: int = 0


class RuleSet(msgspec.Struct, frozen=True):
    rules: tuple[Rule, ...]
    allow_rules: tuple[AllowRule, ...] = ()
    exclude_blocks: tuple[ExcludeBlock, ...] = ()
    skip_patterns: tuple[str, ...] = ()

    def digest(self) -> str:
        """sha256 of the effective rule set (part of every cache key): of its JSON with sorted keys, each record
        an object of all its fields (as json.dumps(dataclasses.asdict(self)) wrote it when these were
        dataclasses: the digests, and so the cache keys, did not change when they became Structs)."""
        import json  # here: a scan with the packaged rules reads their digest from a file and never calls this

        blob = json.dumps(_plain(self), sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()


def _plain(o: Any) -> Any:
    """Records as dicts of all their fields (defaults included), tuples as lists."""
    if isinstance(o, msgspec.Struct):
        return {k: _plain(getattr(o, k)) for k in o.__struct_fields__}
    if isinstance(o, tuple | list):
        return [_plain(x) for x in o]
    return o


class SecretConfig(msgspec.Struct, frozen=True):
    """The user's vigil-secret.yaml, as written (None = field absent)."""

    rules: tuple[Rule, ...] = ()
    allow_rules: tuple[AllowRule, ...] = ()
    enable_builtin_rules: tuple[str, ...] | None = None
    disable_rules: tuple[str, ...] = ()
    disable_allow_rules: tuple[str, ...] = ()
    exclude_block: ExcludeBlock | None = None
    skip_patterns: tuple[str, ...] | None = None


def _strs(v: Any, where: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    if not isinstance(v, list) or not all(isinstance(i, str | int | float) for i in v):
        raise SecretConfigError(f"{where}: expected a list of strings")
    return tuple(str(i) for i in v)


def _check_regex(rx: str, where: str, linear: bool = False, packaged: bool = False) -> str:
    """`linear`: a regex from a user's config, which the engine runs with the linear-time matcher (see linear.py),
    so constructs it cannot run are refused here, when the config is read. `packaged`: a regex of the rule file that
    ships with Vigil, checked by the test suite; compiling its 200 regexes here cost more than the rest of a scan
    of an empty directory, so they are compiled only by the engine, when a file is scanned."""
    if packaged:
        return rx
    try:
        re.compile(rx.encode())
    except (re.error, UnicodeEncodeError) as e:
        raise SecretConfigError(f"{where}: invalid regex {rx!r}: {e}") from e
    if linear and rx:
        from vigil.analyzers.secrets.linear import UnsupportedRegex, check

        try:
            check(rx)
        except UnsupportedRegex as e:
            raise SecretConfigError(f"{where}: regex {rx!r} cannot be used in a secret config: {e}; match the "
                                    f"context with a (?:...) group outside the secret group instead") from None
    return rx


def _allow(d: Any, where: str, linear: bool = False, packaged: bool = False) -> AllowRule:
    if not isinstance(d, dict):
        raise SecretConfigError(f"{where}: expected a mapping")
    a = AllowRule(
        id=str(d.get("id") or ""),
        description=str(d.get("description") or ""),
        regex=_check_regex(str(d.get("regex") or ""), where + ".regex", linear, packaged),
        path=_check_regex(str(d.get("path") or ""), where + ".path", linear, packaged),
        keep_high_confidence=bool(d.get("keep-high-confidence")),
    )
    if not a.regex and not a.path:
        raise SecretConfigError(f"{where}: an allow rule needs a regex or a path")
    return a


def _block(d: Any, where: str, linear: bool = False, packaged: bool = False) -> ExcludeBlock:
    if not isinstance(d, dict):
        raise SecretConfigError(f"{where}: expected a mapping")
    rxs = _strs(d.get("regexes"), where + ".regexes")
    for i, r in enumerate(rxs):
        _check_regex(r, f"{where}.regexes[{i}]", linear, packaged)
    return ExcludeBlock(description=str(d.get("description") or ""), regexes=rxs)


# Suffix of the extra secret groups: Go's regexp (Trivy) lets several groups share the name `secret`, each a
# secret of its own; Python's does not, so the second and later ones are renamed secret__2, secret__3, …
DUP_GROUP = "__"


def _dedupe_group(rx: str, name: str) -> str:
    opener = f"(?P<{name}>"
    if rx.count(opener) < 2:
        return rx
    head, *rest = rx.split(opener)
    return head + opener + rest[0] + "".join(f"(?P<{name}{DUP_GROUP}{i}>" + part for i, part in enumerate(rest[1:], 2))


def _distance(v: Any, where: str) -> int:
    if v is None:
        return 0
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 1 << 16:
        raise SecretConfigError(f"{where}: expected a number of bytes from 0 to 65536")
    return v


def _rule(d: Any, where: str, linear: bool = False, packaged: bool = False) -> Rule:
    if not isinstance(d, dict):
        raise SecretConfigError(f"{where}: expected a mapping")
    for req in ("id", "regex"):
        if not d.get(req):
            raise SecretConfigError(f"{where}: missing {req!r}")
    sev = str(d.get("severity") or "UNKNOWN").upper()
    if sev not in SEVERITIES:
        sev = "UNKNOWN"  # Trivy: an invalid severity becomes UNKNOWN
    rid = str(d["id"])
    return Rule(
        id=rid,
        category=str(d.get("category") or ""),
        title=str(d.get("title") or rid),
        severity=sev,
        regex=_check_regex(_dedupe_group(str(d["regex"]), str(d.get("secret-group-name") or "secret")),
                           f"{where} ({rid}).regex", linear, packaged),
        keywords=_strs(d.get("keywords"), f"{where}.keywords"),
        path=_check_regex(str(d.get("path") or ""), f"{where} ({rid}).path", linear, packaged),
        allow_rules=tuple(
            _allow(a, f"{where}.allow-rules[{i}]", linear, packaged) for i, a in enumerate(d.get("allow-rules") or [])
        ),
        exclude_block=(_block(d["exclude-block"], f"{where}.exclude-block", linear, packaged)
                       if d.get("exclude-block") else ExcludeBlock()),
        secret_group_name=str(d.get("secret-group-name") or "secret"),
        confidence=str(d.get("confidence") or ""),
        near=str(d.get("near") or ""),
        near_distance=_distance(d.get("near-distance"), f"{where} ({rid}).near-distance"),
    )


KNOWN_KEYS = (
    "rules", "allow-rules", "enable-builtin-rules", "disable-rules", "disable-allow-rules", "exclude-block",
    "skip-patterns",
)


def parse_config(data: bytes, name: str = "vigil-secret.yaml") -> SecretConfig:
    import yaml

    from vigil.yaml_safe import safe_load

    try:
        doc = safe_load(data.decode("utf-8")) if data.strip() else {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise SecretConfigError(f"{name}: {e}") from e
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise SecretConfigError(f"{name}: expected a mapping at the top level")
    unknown = tuple(sorted(k for k in doc if k not in KNOWN_KEYS))
    if unknown:
        raise SecretConfigError(f"{name}: unknown key(s): {', '.join(map(str, unknown))}")
    rules = doc.get("rules") or []
    allows = doc.get("allow-rules") or []
    if not isinstance(rules, list) or not isinstance(allows, list):
        raise SecretConfigError(f"{name}: 'rules' and 'allow-rules' must be lists")
    enable = doc.get("enable-builtin-rules")
    skip = doc.get("skip-patterns")
    if skip is not None:
        from vigil.analyzers.secrets.engine import compile_globs
        from vigil.analyzers.secrets.linear import UnsupportedRegex

        try:
            compile_globs(_strs(skip, f"{name}: skip-patterns"), linear=True)
        except UnsupportedRegex as e:
            raise SecretConfigError(f"{name}: skip-patterns: {e}") from None
    return SecretConfig(
        rules=tuple(_rule(r, f"{name}: rules[{i}]", linear=True) for i, r in enumerate(rules)),
        allow_rules=tuple(_allow(a, f"{name}: allow-rules[{i}]", linear=True) for i, a in enumerate(allows)),
        enable_builtin_rules=None if enable is None else _strs(enable, f"{name}: enable-builtin-rules"),
        disable_rules=_strs(doc.get("disable-rules"), f"{name}: disable-rules"),
        disable_allow_rules=_strs(doc.get("disable-allow-rules"), f"{name}: disable-allow-rules"),
        exclude_block=(_block(doc["exclude-block"], f"{name}: exclude-block", linear=True) if doc.get("exclude-block")
                       else None),
        skip_patterns=None if skip is None else _strs(skip, f"{name}: skip-patterns"),
    )


@cache
def builtin() -> RuleSet:
    """The packaged rules (package data, not user input): builtin-rules.yaml is the file people edit, read here
    through its JSON twin, the RuleSet that from_document() makes of the YAML (tools/gen_secret_rules.py writes it; a
    test keeps the two equal): the YAML parser and its import took a fifth of the start-up of a small scan, and
    building the 127 rules in Python from the document more than decoding them in one msgspec call."""
    # beside this module (package data); read with pathlib, not importlib.resources, whose import (with tempfile and
    # zipfile) cost more than reading the file
    return msgspec.json.decode((Path(__file__).parent / "builtin-rules.json").read_bytes(), type=RuleSet)


def from_document(doc: Any) -> RuleSet:
    """The packaged rules from builtin-rules.yaml's document (what builtin() decodes from the JSON twin)."""
    return RuleSet(
        rules=tuple(_rule(r, f"builtin-rules.yaml: rules[{i}]", packaged=True) for i, r in enumerate(doc["rules"])),
        allow_rules=tuple(_allow(a, f"builtin-rules.yaml: allow-rules[{i}]", packaged=True)
                          for i, a in enumerate(doc["allow-rules"])),
        skip_patterns=tuple(doc["skip-patterns"]),
    )


def effective(config: SecretConfig | None = None) -> RuleSet:
    """Built-in rules adjusted by the user's config (Trivy's semantics: enable-builtin-rules keeps only the listed
    built-ins, disable-* remove by ID, custom rules and allow rules are added, skip-patterns replaces the list)."""
    base = builtin()
    if config is None:
        return base
    rules = list(base.rules)
    if config.enable_builtin_rules is not None:
        keep = set(config.enable_builtin_rules)
        rules = [r for r in rules if r.id in keep]
    rules += list(config.rules)
    drop = set(config.disable_rules)
    rules = [r for r in rules if r.id not in drop]
    drop_allow = set(config.disable_allow_rules)
    allows = [a for a in base.allow_rules if a.id not in drop_allow] + [
        a for a in config.allow_rules if a.id not in drop_allow
    ]
    return RuleSet(
        rules=tuple(rules),
        allow_rules=tuple(allows),
        exclude_blocks=(config.exclude_block,) if config.exclude_block else (),
        skip_patterns=base.skip_patterns if config.skip_patterns is None else config.skip_patterns,
    )
