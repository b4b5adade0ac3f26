"""The image config as Trivy scans it for secrets (go-containerregistry's v1.ConfigFile through
json.MarshalIndent(cfg, "  ", "")): the expectations of Trivy's own analyzer test
(pkg/fanal/analyzer/imgconf/secret/secret_test.go) and Go's encoding rules."""

from __future__ import annotations

import json

from vigil.analyzers.secrets.engine import SecretScanner
from vigil.analyzers.secrets.image_config import CONFIG_PATH, trivy_config_json
from vigil.analyzers.secrets.rules import effective

TOKEN = "ghp_eifae6eigh3aeSah1shahd6oi1tague6vaey"  # Trivy's dummy token


def test_trivy_fixture_lines() -> None:
    cfg = {"config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              f"secret={TOKEN}"]}}
    text = trivy_config_json(cfg).decode()
    lines = text.splitlines()
    assert lines[9:13] == ['  "Env": [', '  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",',
                           f'  "secret={TOKEN}"', "  ]"]
    assert text.index(TOKEN) == 231  # Trivy's Offset of this finding: the same bytes precede the token
    found = SecretScanner(effective(None), backend="re").scan(CONFIG_PATH, text.encode())
    assert [(f.rule_id, f.start_line, f.end_line, f.offset) for f in found] == [("github-pat", 12, 12, 231)]
    assert json.loads(text)["config"]["Env"][1].endswith(TOKEN)  # still JSON


def test_go_struct_order_omitempty_and_escaping() -> None:
    cfg = {"os": "linux", "architecture": "arm64", "container_config": {"Env": ["X=1"]},
           "created": "2024-05-01T10:00:00.120000000+00:00",
           "history": [{"created_by": "RUN a && b > c", "empty_layer": True}, {}],
           "rootfs": {"type": "layers", "diff_ids": []},
           "config": {"Labels": {"b": "2", "a": "<1>"}, "Cmd": ["sh"], "ExposedPorts": {"80/tcp": {}}, "Tty": False,
                      "env": ["LOWER=1"]}}
    text = trivy_config_json(cfg).decode()
    assert text.splitlines() == [
        "{", '  "architecture": "arm64",', '  "created": "2024-05-01T10:00:00.12Z",', '  "history": [', "  {",
        '  "created": "0001-01-01T00:00:00Z",', '  "created_by": "RUN a \\u0026\\u0026 b \\u003e c",',
        '  "empty_layer": true', "  },", "  {", '  "created": "0001-01-01T00:00:00Z"', "  }", "  ],",
        '  "os": "linux",', '  "rootfs": {', '  "type": "layers",', '  "diff_ids": []', "  },", '  "config": {',
        '  "Cmd": [', '  "sh"', "  ],", '  "Env": [', '  "LOWER=1"', "  ],", '  "Labels": {', '  "a": "\\u003c1\\u003e",',
        '  "b": "2"', "  },", '  "ExposedPorts": {', '  "80/tcp": {}', "  }", "  }", "  }"]
