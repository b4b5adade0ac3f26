"""The committed Python code of the Twirp messages (src/vigil/shells/server/twirp/gen/*_pb2.py) is current with
the .proto files beside it, and the messages are Trivy's interface.

Currency is checked on descriptors, not on text: protoc compiles the .proto files to a FileDescriptorSet here, and
each file's FileDescriptorProto must equal the one the committed module registers. The text protoc writes changes
with its version (headers, runtime checks, layout); the descriptor is what the code is built from, so the check
holds whichever grpcio-tools and protobuf are installed. Regenerate with tools/gen_twirp.py."""

from __future__ import annotations

import importlib
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from tools.gen_twirp import GEN, PROTOS, protoc_args

MODULES = {p: f"vigil.shells.server.twirp.gen.{p.removesuffix('.proto')}_pb2" for p in PROTOS}


def _normal(fd: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """Without the json_name protoc adds to a descriptor set and leaves out of generated code (it is derived from
    the field's name; none of ours sets one)."""
    out = descriptor_pb2.FileDescriptorProto()
    out.CopyFrom(fd)

    def clear(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
        for m in messages:
            for f in m.field:
                f.ClearField("json_name")
            clear(m.nested_type)

    clear(out.message_type)
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    out = tmp_path_factory.mktemp("protoc") / "set.pb"
    subprocess.run(protoc_args(f"--descriptor_set_out={out}"), check=True, capture_output=True)
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return {Path(f.name).name: f for f in fds.file}


@pytest.mark.parametrize("proto", PROTOS)
def test_committed_code_is_current(proto: str, compiled: dict[str, descriptor_pb2.FileDescriptorProto]) -> None:
    mod = importlib.import_module(MODULES[proto])
    committed = _normal(descriptor_pb2.FileDescriptorProto.FromString(mod.DESCRIPTOR.serialized_pb))
    fresh = _normal(compiled[proto])
    assert committed == fresh, (f"{GEN / proto} changed since its code was generated: run tools/gen_twirp.py "
                                f"(first difference in message list: "
                                f"{[m.name for m in committed.message_type]} vs {[m.name for m in fresh.message_type]})")


def test_a_changed_proto_is_caught(tmp_path: Path, compiled: dict[str, descriptor_pb2.FileDescriptorProto]) -> None:
    """The comparison sees a renumbered field (what would break Trivy clients silently)."""
    changed = descriptor_pb2.FileDescriptorProto()
    changed.CopyFrom(compiled["scanner.proto"])
    req = next(m for m in changed.message_type if m.name == "ScanRequest")
    next(f for f in req.field if f.name == "blob_ids").number = 30
    mod = importlib.import_module(MODULES["scanner.proto"])
    committed = _normal(descriptor_pb2.FileDescriptorProto.FromString(mod.DESCRIPTOR.serialized_pb))
    assert committed == _normal(compiled["scanner.proto"])
    assert committed != _normal(changed)


# Trivy's interface: the services' full names (they are the Twirp URL paths) and the field numbers a Trivy 0.50+
# client sends or reads, as published in its rpc/*.proto (read for this list; not copied).
INTERFACE = {
    "trivy.cache.v1.PutBlobRequest": {"diff_id": 1, "blob_info": 3},
    "trivy.cache.v1.BlobInfo": {"schema_version": 1, "os": 2, "package_infos": 3, "applications": 4,
                                "opaque_dirs": 5, "whiteout_files": 6, "digest": 7, "diff_id": 8,
                                "misconfigurations": 9, "secrets": 12, "licenses": 13, "created_by": 15},
    "trivy.cache.v1.MissingBlobsRequest": {"artifact_id": 1, "blob_ids": 2},
    "trivy.cache.v1.MissingBlobsResponse": {"missing_artifact": 1, "missing_blob_ids": 2},
    "trivy.cache.v1.PutArtifactRequest": {"artifact_id": 1, "artifact_info": 2},
    "trivy.cache.v1.DeleteBlobsRequest": {"blob_ids": 1},
    "trivy.scanner.v1.ScanRequest": {"target": 1, "artifact_id": 2, "blob_ids": 3, "options": 4},
    "trivy.scanner.v1.ScanOptions": {"pkg_types": 1, "scanners": 2, "license_categories": 4,
                                     "include_dev_deps": 5, "pkg_relationships": 6, "distro": 7,
                                     "vuln_severity_sources": 8, "license_full": 9},
    "trivy.scanner.v1.ScanResponse": {"os": 1, "results": 3, "layers": 4},
    "trivy.scanner.v1.Result": {"target": 1, "vulnerabilities": 2, "type": 3, "misconfigurations": 4,
                                "packages": 5, "class": 6, "secrets": 8, "licenses": 9},
    "trivy.common.Package": {"name": 1, "version": 2, "release": 3, "epoch": 4, "arch": 5, "src_name": 6,
                             "src_version": 7, "src_release": 8, "src_epoch": 9, "layer": 11, "file_path": 12,
                             "id": 13, "depends_on": 14, "licenses": 15, "dev": 17, "indirect": 18,
                             "identifier": 19, "locations": 20, "relationship": 22},
    "trivy.common.Vulnerability": {"vulnerability_id": 1, "pkg_name": 2, "installed_version": 3,
                                   "fixed_version": 4, "severity": 7, "layer": 10, "cvss": 12,
                                   "data_source": 20, "pkg_id": 23, "status": 24, "pkg_identifier": 25},
}


def test_the_interface_is_trivys() -> None:
    from vigil.shells.server.twirp.gen import cache_pb2, scanner_pb2

    assert cache_pb2.DESCRIPTOR.services_by_name["Cache"].full_name == "trivy.cache.v1.Cache"
    assert scanner_pb2.DESCRIPTOR.services_by_name["Scanner"].full_name == "trivy.scanner.v1.Scanner"
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.Default()
    for message, fields in INTERFACE.items():
        d = pool.FindMessageTypeByName(message)
        assert {f: d.fields_by_name[f].number for f in fields} == fields, message


def test_the_declared_protobuf_floor_runs_the_committed_code() -> None:
    """The generated code refuses a runtime older than the protoc that wrote it: pyproject's bound must allow no
    such runtime."""
    import re

    root = Path(__file__).resolve().parents[2]
    floor = re.search(r'"protobuf>=([0-9.]+)"', (root / "pyproject.toml").read_text())
    assert floor is not None
    for proto in PROTOS:
        text = (GEN / proto.replace(".proto", "_pb2.py")).read_text()
        made = re.search(r"Protobuf Python Version: ([0-9.]+)", text)
        assert made is not None, proto
        gen = tuple(int(x) for x in made.group(1).split("."))
        declared = tuple(int(x) for x in floor.group(1).split("."))
        assert declared + (0,) * (3 - len(declared)) >= gen, f"{proto} needs protobuf>={made.group(1)}; pyproject allows {floor.group(0)}"
