"""One schema for disk, cache and wire (ARCHITECTURE.md §7): every record type reachable from Report, BlobInfo,
ArtifactInfo and the wire envelopes survives a JSON and a msgpack round trip with every field set to a
non-default value. The types are found by walking msgspec's type info, so a new record is covered automatically."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from vigil.findings.analysis import ArtifactInfo, BlobInfo
from vigil.findings.records import Report
from vigil.findings.wire import WIRE_TYPES, ScanRequest

ROOTS: tuple[type, ...] = (Report, BlobInfo, ArtifactInfo, *WIRE_TYPES)


def _structs() -> dict[type, mi.StructType]:
    found: dict[type, mi.StructType] = {}

    def walk(t: mi.Type) -> None:
        if isinstance(t, mi.StructType):
            if t.cls in found:
                return
            found[t.cls] = t
            for f in t.fields:
                walk(f.type)
        elif isinstance(t, mi.UnionType):
            for u in t.types:
                walk(u)
        elif isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
            walk(t.item_type)
        elif isinstance(t, mi.TupleType):
            for u in t.item_types:
                walk(u)
        elif isinstance(t, mi.DictType):
            walk(t.key_type)
            walk(t.value_type)

    for info in mi.multi_type_info(list(ROOTS)):
        walk(info)
    return found


STRUCTS = _structs()


def sample(t: mi.Type, hint: str = "x", default: Any = msgspec.NODEFAULT) -> Any:
    """A valid value of type `t`, different from `default` wherever the type allows."""
    if isinstance(t, mi.StructType):
        return t.cls(**{f.name: sample(f.type, f.name, f.default) for f in t.fields})
    if isinstance(t, mi.StrType):
        if t.pattern:
            value = "sha256:" + "ab" * 32
            assert re.search(t.pattern, value), t.pattern
            return value
        return f"{hint}-value"
    if isinstance(t, mi.BoolType):
        return True
    if isinstance(t, mi.IntType):
        return max(7, t.ge or 0, (t.gt or 0) + 1)
    if isinstance(t, mi.FloatType):
        return 2.5
    if isinstance(t, mi.LiteralType):
        return next((v for v in reversed(t.values) if v != default), t.values[0])
    if isinstance(t, mi.NoneType):
        return None
    if isinstance(t, mi.UnionType):
        return sample(next(u for u in t.types if not isinstance(u, mi.NoneType)), hint)
    if isinstance(t, mi.VarTupleType):
        return tuple(sample(t.item_type, hint) for _ in range(max(2, t.min_length or 0)))
    if isinstance(t, mi.TupleType):
        return tuple(sample(u, hint) for u in t.item_types)
    if isinstance(t, mi.ListType):
        return [sample(t.item_type, hint), sample(t.item_type, hint)]
    if isinstance(t, mi.DictType):
        return {sample(t.key_type, "key"): sample(t.value_type, hint)}
    if isinstance(t, mi.AnyType):  # JSON-native data (image config): what a JSON decode gives back
        return {"architecture": "amd64", "history": [{"created_by": "RUN x", "empty_layer": True}], "n": 3}
    raise AssertionError(f"no sample for {t!r}: extend sample() for the new field type")


def test_walk_finds_every_record_kind() -> None:
    names = {c.__name__ for c in STRUCTS}
    # a spot check that the walk descends through unions, tuples and dicts
    assert {"Report", "Result", "Vulnerability", "CVSS", "Package", "LayerRef", "BlobInfo", "OSRelease",
            "SecretsInFile", "ArtifactInfo", "LayerInfo", "ScanRequest", "DetectionOptions", "VersionInfo",
            "DBInfo", "MissingBlobsRequest", "MissingBlobsResponse", "ErrorBody", "SuppressedFinding",
            "Remediation", "Misconfiguration", "CauseMetadata", "LicenseFinding", "OSInfo", "Unknown"} <= names
    assert len(STRUCTS) >= 30


@pytest.mark.parametrize("cls", sorted(STRUCTS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_round_trip(cls: type) -> None:
    info = STRUCTS[cls]
    value = sample(info)
    defaults = {f.name for f in info.fields
                if f.default is not msgspec.NODEFAULT and getattr(value, f.name) == f.default}
    # every field carries a non-default value unless its type allows only the default (Literal["ok"])
    only_default = {f.name for f in info.fields if isinstance(f.type, mi.LiteralType) and len(f.type.values) == 1}
    assert defaults <= only_default, f"{cls.__name__}: fields left at their default: {defaults - only_default}"
    j = msgspec.json.encode(value)
    assert msgspec.json.decode(j, type=cls) == value
    m = msgspec.msgpack.encode(value)
    assert msgspec.msgpack.decode(m, type=cls) == value
    # every field is on the wire under its PascalCase name (nothing silently dropped)
    encoded = msgspec.json.decode(j)
    assert set(encoded) == {f.encode_name for f in info.fields}


def test_wire_names_are_pascal_case() -> None:
    for info in STRUCTS.values():
        for f in info.fields:
            assert f.encode_name[:1].isupper(), f"{info.cls.__name__}.{f.name} -> {f.encode_name}"


def test_scan_request_rejects_bad_keys_and_unknown_fields() -> None:
    good = sample(STRUCTS[ScanRequest])
    raw = msgspec.json.decode(msgspec.json.encode(good))
    with pytest.raises(msgspec.ValidationError, match="BlobKeys"):
        msgspec.json.decode(msgspec.json.encode({**raw, "BlobKeys": ["md5:abc"]}), type=ScanRequest)
    with pytest.raises(msgspec.ValidationError, match="BlobKeys"):
        msgspec.json.decode(msgspec.json.encode({**raw, "BlobKeys": []}), type=ScanRequest)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(msgspec.json.encode({**raw, "Severities": ["HIGH"]}), type=ScanRequest)
    with pytest.raises(msgspec.ValidationError, match="Scanners"):
        msgspec.json.decode(msgspec.json.encode({**raw, "Options": {"Scanners": ["rootkit"]}}), type=ScanRequest)
