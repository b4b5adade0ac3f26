"""parse_kubernetes: documents, List kinds, JSON, exact lines, the field line map, and errors."""

from __future__ import annotations

import json

import pytest
from tests.work_budget import line_budget

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.kubernetes import parse_kubernetes

MULTI = b"""# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
        securityContext:
          privileged: true
      initContainers:
      - name: init
        image: busybox
---
replicas: 3
image: {tag: x}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: svc
- apiVersion: v1
  kind: Pod
  metadata:
    generateName: worker-
  spec:
    containers: [{name: c, image: y}]
- just a string
"""


def test_multi_document_and_list_flattening() -> None:
    rs = parse_kubernetes(MULTI, "m.yaml")
    assert [(r.kind, r.name, r.namespace) for r in rs] == [
        ("Deployment", "web", "prod"),
        ("Service", "svc", ""),
        ("Pod", "worker-", ""),
    ]
    dep, svc, pod = rs
    assert (dep.start_line, dep.end_line) == (2, 17)
    assert dep.api_version == "apps/v1" and dep.path == "m.yaml" and dep.ref == "Deployment/web"
    assert (svc.start_line, svc.end_line) == (25, 28)
    assert (pod.start_line, pod.end_line) == (29, 34)


def test_field_line_map_and_fallback_to_ancestor() -> None:
    dep = parse_kubernetes(MULTI, "m.yaml")[0]
    c0 = ("spec", "template", "spec", "containers", 0)
    assert dep.lines_of(c0) == (11, 14)
    assert dep.line_of((*c0, "securityContext", "privileged")) == 14
    assert dep.lines_of((*c0, "securityContext")) == (14, 14)
    # a missing field falls back to its deepest existing ancestor
    assert dep.lines_of((*c0, "securityContext", "readOnlyRootFilesystem")) == (14, 14)
    assert dep.line_of(("spec", "template", "spec", "initContainers", 0, "image")) == 17
    assert dep.lines_of(("nope",)) == (dep.start_line, dep.end_line)


def test_list_item_lines_are_relative_to_the_item() -> None:
    pod = parse_kubernetes(MULTI, "m.yaml")[2]
    assert pod.line_of(("spec", "containers", 0)) == 34
    assert pod.obj["spec"]["containers"][0]["name"] == "c"


def test_non_kubernetes_yaml_yields_nothing() -> None:
    assert parse_kubernetes(b"replicaCount: 1\nimage:\n  tag: x\n", "values.yaml") == []
    assert parse_kubernetes(b"", "empty.yaml") == []
    assert parse_kubernetes(b"---\n---\n", "seps.yaml") == []
    assert parse_kubernetes(b"- a\n- b\n", "list.yaml") == []


def test_json_manifest_and_json_with_tabs() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    rs = parse_kubernetes(json.dumps(obj, indent=2).encode(), "p.json")
    assert [(r.kind, r.name) for r in rs] == [("Pod", "p")]
    assert rs[0].start_line == 1
    tabbed = json.dumps(obj, indent="\t").encode()
    assert [r.name for r in parse_kubernetes(tabbed, "t.json")] == ["p"]


def test_anchors_and_merge_keys() -> None:
    data = b"""apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - &c
    name: a
    image: x
  - <<: *c
    name: b
"""
    (pod,) = parse_kubernetes(data, "a.yaml")
    assert [c["name"] for c in pod.obj["spec"]["containers"]] == ["a", "b"]
    assert pod.line_of(("spec", "containers", 1, "name")) == 10


@pytest.mark.parametrize(
    "data",
    [
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: [\n",
        b"\x00\x01binary",
        b"\xff\xfe\xfa not utf-8",
        b"a: b\n c: d\n:",
        b"{{ .Values.x }}: 1\n",
        b"key: !!python/object:os.system x\n",
        b"{\"apiVersion\": \"v1\", \"kind\": ",
        b"[" * 5000,
    ],
)
def test_invalid_input_raises_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_kubernetes(data, "bad.yaml")


def test_alias_bomb_is_cheap() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    data = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n"
            + "\n".join("  " + ln for ln in lines) + "\n").encode()
    # Refused at parse time: the checks (not only the line walker) would otherwise expand the aliases.
    with pytest.raises(ParseError, match=r"YAML aliases expand beyond \d+ nodes \(alias bomb\?\)"):
        parse_kubernetes(data, "bomb.yaml")


def test_big_list_is_linear() -> None:
    item = "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c%d}\n  data: {a: b}\n"

    def listing(n: int) -> bytes:
        return ("apiVersion: v1\nkind: List\nitems:\n" + "".join(item % i for i in range(n))).encode()

    with line_budget(10**8) as small:
        parse_kubernetes(listing(500), "small.yaml")
    data = listing(5000)
    with line_budget(12 * small.used):  # 10 times the items: about 10 times the work, not 100 times
        rs = parse_kubernetes(data, "big.yaml")
    assert len(rs) == 5000 and rs[-1].name == "c4999"
    assert rs[-1].start_line == 3 + 4 * 4999 + 1
    assert rs[-1].line_of(("data", "a")) == rs[-1].start_line + 3
