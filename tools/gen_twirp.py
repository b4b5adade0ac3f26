"""Regenerate the Python code of the Twirp messages `vigil server` speaks to Trivy clients, from our own .proto
files in src/vigil/shells/server/twirp/gen/ (run after changing one; tests/unit/test_twirp_proto.py checks the
committed code is current by comparing descriptors, which do not depend on the protoc or protobuf version).

Needs grpcio-tools (a dev dependency): it bundles protoc and the well-known types (Empty, Timestamp, Value). The code
it writes refuses a protobuf runtime older than that protoc ("Protobuf Python Version" in its header): keep the
protobuf bound in pyproject.toml at that version or above."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
GEN = SRC / "vigil" / "shells" / "server" / "twirp" / "gen"
PROTOS = ("common.proto", "cache.proto", "scanner.proto")


def protoc_args(*outputs: str) -> list[str]:
    """protoc with the proto root at src/ (so generated imports are vigil.shells.server.twirp.gen.*)."""
    import grpc_tools

    include = Path(grpc_tools.__file__).resolve().parent / "_proto"
    return [sys.executable, "-m", "grpc_tools.protoc", f"-I{SRC}", f"-I{include}", *outputs,
            *(str(GEN / p) for p in PROTOS)]


def main() -> None:
    subprocess.run(protoc_args(f"--python_out={SRC}", f"--pyi_out={SRC}"), check=True)
    print(f"wrote {', '.join(p.replace('.proto', '_pb2.py') for p in PROTOS)} in {GEN}", file=sys.stderr)


if __name__ == "__main__":
    main()
