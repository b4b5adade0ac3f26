"""The alias-budgeted YAML loaders (vigil.yaml_safe) and the parsers that use them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from tests.work_budget import count_calls

from vigil import yaml_safe as ys
from vigil.analyzers.errors import ParseError

LOADERS = [(ys.SafeLoader, yaml.SafeLoader), (ys.CSafeLoader, yaml.CSafeLoader)]
IDS = ["python", "libyaml"]


def laughs(depth: int = 8, indent: str = "") -> str:
    out = [f'{indent}a0: &a0 "lol"']
    for i in range(1, depth + 1):
        out.append(f"{indent}a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(out) + "\n"


COMPOSE = """\
x-defaults: &defaults
  restart: always
  logging: &logging
    driver: json-file
    options: {max-size: 10m}
  environment:
    A: "1"
x-ports: &ports ["80:80", "443:443"]
services:
  web:
    <<: *defaults
    image: nginx:1.27
    restart: "no"
    ports: *ports
  worker:
    <<: [*defaults, {user: app}]
    image: app:1.0
    logging: *logging
"""
HELM_VALUES = """\
common: &common
  image: {repository: nginx, tag: "1.27"}
  resources: &res {limits: {cpu: 500m}}
frontend: {<<: *common, replicas: 2}
backend:
  <<: *common
  resources: *res
  tolerations: &tol [{key: a, operator: Exists}]
jobs: [{name: a, tolerations: *tol}, {name: b, tolerations: *tol}]
shared: &s "a scalar"
again: [*s, *s, *s]
"""


@pytest.mark.parametrize(("guarded", "plain"), LOADERS, ids=IDS)
@pytest.mark.parametrize("text", [COMPOSE, HELM_VALUES, "", "a: 1\n---\nb: &x [1]\nc: *x\n---\n", "- &a 1\n- *a\n"])
def test_legit_anchors_and_merge_keys_load_like_pyyaml(guarded: Any, plain: Any, text: str) -> None:
    assert list(yaml.load_all(text, Loader=guarded)) == list(yaml.load_all(text, Loader=plain))


@pytest.mark.parametrize(("guarded", "plain"), LOADERS, ids=IDS)
def test_merge_keys_resolve_as_before(guarded: Any, plain: Any) -> None:
    doc = yaml.load(COMPOSE, Loader=guarded)
    assert doc["services"]["web"]["restart"] == "no"  # explicit keys win over merged ones
    assert doc["services"]["web"]["logging"]["driver"] == "json-file"
    assert doc["services"]["worker"]["user"] == "app"
    assert doc == yaml.load(COMPOSE, Loader=plain)


def test_safe_load_is_pyyaml_safe_load() -> None:
    assert ys.safe_load(HELM_VALUES) == yaml.safe_load(HELM_VALUES)
    assert ys.safe_load(b"a: 1\n") == {"a": 1}


@pytest.mark.parametrize(("guarded", "plain"), LOADERS, ids=IDS)
def test_billion_laughs_is_refused_by_every_entry_point(guarded: Any, plain: Any) -> None:
    bomb = laughs()
    assert len(bomb) < 600
    for call in (lambda: yaml.load(bomb, Loader=guarded), lambda: list(yaml.load_all(bomb, Loader=guarded)),
                 lambda: yaml.compose(bomb, Loader=guarded), lambda: list(yaml.compose_all(bomb, Loader=guarded))):
        with pytest.raises(ys.AliasExpansionError, match=r"^YAML aliases expand beyond 100000 nodes \(alias bomb\?\)$"):
            call()


def test_the_error_is_a_parse_error_and_a_yaml_error() -> None:
    with pytest.raises(ParseError) as e:
        ys.safe_load(laughs())
    assert isinstance(e.value, yaml.YAMLError)
    # Handlers that format PyYAML errors as "invalid YAML at line N: <problem>" get the message and no line.
    assert e.value.problem == str(e.value) and e.value.problem_mark is None


@pytest.mark.parametrize("guarded", [ys.SafeLoader, ys.CSafeLoader], ids=IDS)
def test_the_traceback_holds_no_node(guarded: Any) -> None:
    # Tools that print the arguments or locals of traceback frames (pytest does) must not repr the node graph.
    with pytest.raises(ys.AliasExpansionError) as e:
        yaml.load(laughs(), Loader=guarded)
    tb = e.value.__traceback__
    while tb is not None:
        assert not any(isinstance(v, yaml.Node) for v in tb.tb_frame.f_locals.values()), tb.tb_frame
        tb = tb.tb_next


@pytest.mark.parametrize("text", [
    "<<: &a {x: 1}\nm1: &m1 {<<: [" + ",".join(["*a"] * 10) + "]}\n"  # merge keys expand too
    + "".join(f"m{i}: &m{i} {{<<: [" + ",".join([f"*m{i - 1}"] * 10) + "]}\n" for i in range(2, 9)),
    "- &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"- &a{i} [" + ", ".join([f"*a{i - 1}" if i > 1 else "*a"] * 10) + "]\n" for i in range(1, 8)),
])
def test_other_bomb_shapes_are_refused(text: str) -> None:
    with pytest.raises(ys.AliasExpansionError):
        yaml.load(text, Loader=ys.CSafeLoader)


@pytest.mark.parametrize("guarded", [ys.SafeLoader, ys.CSafeLoader], ids=IDS)
@pytest.mark.parametrize("text", ["a: &x [1, *x]\n", "&x {a: [1, {b: *x}]}\n", "- &x\n  - &y [*x]\n"])
def test_recursive_aliases_are_refused(guarded: Any, text: str) -> None:
    with pytest.raises(ys.AliasExpansionError, match="aliased inside itself"):
        yaml.load(text, Loader=guarded)


def _small(budget: int) -> type:
    return type("Small", (ys.CSafeLoader,), {"alias_budget": budget})


def test_budget_is_the_nodes_that_aliases_add() -> None:
    text = "a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: *x\nc: *x\n"  # each alias adds the 11 nodes of the list
    assert ys.alias_expansion(yaml.compose(text, Loader=yaml.CSafeLoader)) == 22
    assert yaml.load(text, Loader=_small(22))["c"] == list(range(1, 11))
    with pytest.raises(ys.AliasExpansionError, match="beyond 21 nodes"):
        yaml.load(text, Loader=_small(21))


def test_budget_is_spent_over_the_whole_stream() -> None:
    doc = "a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: *x\n"  # 11 nodes added
    assert len(list(yaml.load_all(doc, Loader=_small(15)))) == 1
    with pytest.raises(ys.AliasExpansionError):
        list(yaml.load_all(doc + "---\n" + doc, Loader=_small(15)))
    assert len(list(yaml.load_all(doc + "---\n" + doc, Loader=_small(22)))) == 2


def test_a_big_document_without_aliases_is_never_refused() -> None:
    n = ys.MAX_ALIAS_NODES // 5
    text = "".join(f"k{i}: [a, b, {{c: d}}]\n" for i in range(n))  # 7 nodes a line: 1.4x the budget
    assert len(yaml.load(text, Loader=ys.CSafeLoader)) == n


@pytest.mark.parametrize("guarded", [ys.SafeLoader, ys.CSafeLoader], ids=IDS)
def test_a_text_without_anchors_is_not_walked(guarded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only an anchor (`&name`) makes aliases: a text without `&` (str, or bytes in any YAML encoding) is loaded
    without the walk over its collections; one with it, or a stream that cannot be looked at first, is walked."""
    import io

    walks = count_calls(monkeypatch, ys, "_shares_collections")
    text = "a: [1, {b: c}]\n---\nd: {e: [f]}\n"
    for stream in (text, text.encode(), text.encode("utf-16")):
        assert list(yaml.load_all(stream, Loader=guarded)) == [{"a": [1, {"b": "c"}]}, {"d": {"e": ["f"]}}]
    assert walks.used == 0
    assert list(yaml.load_all(io.StringIO(text), Loader=guarded))[1] == {"d": {"e": ["f"]}}
    assert walks.used == 2
    for bomb in (laughs(), laughs().encode("utf-16")):
        with pytest.raises(ys.AliasExpansionError):
            yaml.load(bomb, Loader=guarded)
    assert walks.used == 4


def test_aliased_scalars_do_not_count() -> None:
    # Each costs as much input as the node it stands for: no amplification.
    text = "a: &x some-long-scalar\nb: [" + ", ".join(["*x"] * (ys.MAX_ALIAS_NODES + 10)) + "]\n"
    assert len(yaml.load(text, Loader=ys.CSafeLoader)["b"]) == ys.MAX_ALIAS_NODES + 10


def test_alias_expansion_counts_exactly() -> None:
    text = "base: &b {x: 1, y: [1, 2]}\nu: {<<: *b, y: 3}\nv: [*b, *b]\n"
    assert ys.alias_expansion(yaml.compose(text, Loader=yaml.SafeLoader)) == 3 * 7  # three references to 7 nodes
    assert ys.alias_expansion(yaml.compose("a: [1, {b: c}]\n", Loader=yaml.SafeLoader)) == 0
    assert ys.alias_expansion(yaml.compose("? &k [a, b]\n: 1\nx: *k\n", Loader=yaml.SafeLoader)) == 3  # in keys too
    assert ys.alias_expansion(None) == 0
    assert ys.alias_expansion(yaml.compose("scalar", Loader=yaml.SafeLoader)) == 0


def test_alias_expansion_of_a_deep_document_does_not_recurse() -> None:
    leaf = yaml.SequenceNode("tag:yaml.org,2002:seq", [yaml.ScalarNode("tag:yaml.org,2002:str", "x")])
    node = yaml.SequenceNode("tag:yaml.org,2002:seq", [leaf, leaf])
    for _ in range(50_000):
        node = yaml.SequenceNode("tag:yaml.org,2002:seq", [node])
    assert ys.alias_expansion(node) == 2


# The parsers of untrusted YAML all refuse the bomb with the loader's message.

def test_parsers_refuse_the_bomb_with_a_clear_message() -> None:
    from vigil.analyzers.lang._common import load_lock_yaml, load_yaml
    from vigil.analyzers.lang.pnpm_lock import parse_pnpm_lock
    from vigil.analyzers.misconf import helm
    from vigil.analyzers.misconf.compose import parse_compose
    from vigil.analyzers.misconf.kubernetes import parse_kubernetes
    from vigil.analyzers.misconf.kustomize import scan_kustomize

    bomb = laughs()
    k8s = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n" + laughs(indent="  ")
    msg = r"YAML aliases expand beyond 100000 nodes \(alias bomb\?\)"
    cases = [
        lambda: parse_kubernetes(k8s.encode()),
        lambda: parse_compose(("x-lol:\n" + laughs(indent="  ") + "services: {web: {command: *a8}}\n").encode()),
        lambda: load_yaml(bomb.encode()),
        lambda: load_lock_yaml(bomb),
        lambda: parse_pnpm_lock(("lockfileVersion: '9.0'\n" + bomb).encode()),
        lambda: helm._values([bomb.encode()], [], None),
        lambda: scan_kustomize({"kustomization.yaml": ("resources: []\n" + bomb).encode()}),
    ]
    for case in cases:
        with pytest.raises(ParseError, match=msg):
            case()


def test_secret_config_refuses_the_bomb() -> None:
    from vigil.analyzers.secrets.rules import SecretConfigError, parse_config

    inner = "&a0 lol"
    for i in range(1, 7):  # 10**6 nodes: over the budget, yet affordable if a regression expands it
        inner = f"&a{i} [{inner}, " + ", ".join([f"*a{i - 1}"] * 9) + "]"
    # Unguarded, the rule validation stringifies the regex and expands it.
    with pytest.raises(SecretConfigError, match=r"vigil-secret.yaml: YAML aliases expand beyond 100000 nodes"):
        parse_config(f"allow-rules:\n- id: x\n  regex: {inner}\n".encode())


def test_kubernetes_json_fallback_does_not_hide_the_refusal() -> None:
    from vigil.analyzers.misconf.kubernetes import parse_kubernetes

    with pytest.raises(ParseError, match="alias bomb"):
        parse_kubernetes(b"[&a [1, 2, 3, 4, 5, 6, 7, 8, 9], " + b", ".join([b"*a"] * 20_000) + b"]")


def test_lockfile_loader_keeps_its_scalar_typing() -> None:
    from vigil.analyzers.lang._common import load_lock_yaml

    assert load_lock_yaml("v: &v 1.10\nw: *v\nx: [&l [1.0, true], *l]\n") == {
        "v": "1.10", "w": "1.10", "x": [["1.0", True], ["1.0", True]]}


def test_config_data_and_generic_yaml_configs_refuse_the_bomb() -> None:
    from vigil.analyzers.misconf.scan import _parse
    from vigil.pipeline.inputs import InputError, _load_data

    with pytest.raises(InputError, match=r"--config-data d.yaml: invalid document: YAML aliases expand beyond"):
        _load_data("d.yaml", laughs().encode())
    with pytest.raises(ParseError, match="invalid YAML: AliasExpansionError"):
        _parse("yaml", "x.yaml", laughs().encode())
