"""Custom Rego checks (regopy): metadata, selectors, namespaces, deny forms, data documents, errors; and the two
shipped examples in examples/checks/."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.analyzers.misconf import rego
from vigil.analyzers.misconf.dockerfile import parse_dockerfile
from vigil.analyzers.misconf.scan import rego_input

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "checks"

STRING_DENY = """# METADATA
# title: No ADD at all
# custom:
#   id: USR-1
#   severity: low
#   input:
#     selector:
#     - type: dockerfile
package user.t.one
import rego.v1
deny contains "ADD used" if { some s in input.Stages; some c in s.Commands; c.Cmd == "add" }
deny_lines contains {"msg": "explicit", "startline": 2, "endline": 3} if { count(input.Stages) > 0 }
"""


def _load(src: str, ns: tuple[str, ...] = ("user",), data: tuple[object, ...] = ()) -> tuple:  # type: ignore[type-arg]
    return rego.load_checks({"t.rego": src}, data, ns, rego_input)


def test_string_and_object_deny() -> None:
    [check] = _load(STRING_DENY)
    assert (check.meta.id, check.meta.severity, check.meta.input_type) == ("USR-1", "LOW", "dockerfile")
    doc = parse_dockerfile(b"FROM a:1\nADD x /x\nUSER app\n")
    fails = sorted(check.run(doc), key=lambda f: f.message)
    assert [(f.message, f.start_line, f.end_line) for f in fails] == [("ADD used", 0, 0), ("explicit", 2, 3)]


def test_namespaces_filter() -> None:
    assert _load(STRING_DENY, ns=("builtin",)) == ()
    assert len(_load(STRING_DENY, ns=("user.t",))) == 1


def test_bad_rego_and_bad_selector() -> None:
    with pytest.raises(rego.RegoLoadError):
        _load("package user.x\nimport rego.v1\ndeny contains msg if {\n")
    with pytest.raises(rego.RegoLoadError, match="selector"):
        _load("# METADATA\n# custom:\n#   input:\n#     selector:\n#     - type: terraform\n"
              "package user.x\ndeny[msg] { msg := \"x\" }\n")


def test_example_dockerfile_check_with_data() -> None:
    src = {str(p): p.read_text() for p in EXAMPLES.glob("*.rego")}
    checks = rego.load_checks(src, (), ("user",), rego_input)
    by_id = {c.meta.id: c for c in checks}
    assert set(by_id) == {"USR-DF-0001", "USR-K8S-0001"}
    df = by_id["USR-DF-0001"]
    assert df.meta.aliases == ("AVD-USR-DF-0001",) and df.meta.severity == "HIGH"
    doc = parse_dockerfile(b"FROM golang:1.22 AS b\nRUN x\nFROM registry.example.com/base:1\nCOPY --from=b /o /o\n")
    [f] = df.run(doc)
    assert (f.start_line, "golang:1.22" in f.message) == (1, True)
    trusting = {c.meta.id: c for c in rego.load_checks(src, ({"trusted_registries": ["golang:"]},), ("user",),
                                                       rego_input)}
    [f] = trusting["USR-DF-0001"].run(doc)
    assert f.start_line == 3  # now only the other registry is untrusted


def test_example_kubernetes_check() -> None:
    from vigil.analyzers.misconf import kubernetes

    src = {str(p): p.read_text() for p in EXAMPLES.glob("*.rego")}
    k8s = {c.meta.id: c for c in rego.load_checks(src, (), ("user",), rego_input)}["USR-K8S-0001"]
    [bad] = kubernetes.parse_kubernetes(b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n", "d.yaml")
    [f] = k8s.run(bad)
    assert "Deployment 'web'" in f.message and f.start_line == 1
    [good] = kubernetes.parse_kubernetes(
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    team: a\n", "d.yaml")
    assert list(k8s.run(good)) == []
