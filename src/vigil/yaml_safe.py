"""YAML loaders for untrusted input: PyYAML's safe loaders with a budget on alias expansion.

A YAML alias (`*a`) makes the parser share the anchored node instead of copying it, so a few hundred bytes of
nested aliases ("billion laughs") describe a document of 10^9 nodes. Parsing stays cheap, but anything that walks
the result as a tree (a check joining a container's `args`, a JSON dump for Rego, the compose line mapper) does
the whole exponential expansion. Guarding each walker is whack-a-mole, so the loaders here refuse such documents
at parse time, before anything is constructed from them.

How: after a document is composed into its node graph (libyaml's C composer for `CSafeLoader`, so the parse speed
stays that of C), one linear pass computes each collection's expanded size (nodes in its subtree, counting shared
subtrees once per reference) and refuses the document when the nodes that aliases add on top of the written ones
exceed `MAX_ALIAS_NODES`, summed over the documents of one stream. Documents without aliases are never refused,
whatever their size, and the objects constructed from accepted documents are exactly those of the plain PyYAML
loaders (merge keys included). An alias inside its own anchor (a recursive structure) expands without end and is
refused too.
"""

from __future__ import annotations

from typing import Any

import yaml

from vigil.errors import ParseError

# Nodes that aliases may add to a stream. Hand-written anchors (compose `<<: *defaults`, Helm values) add
# hundreds or a few thousand; a tree of 100 000 nodes is still cheap for every walker (well under a second),
# while a 600-byte alias bomb asks for 10^8 or more.
MAX_ALIAS_NODES = 100_000


class AliasExpansionError(ParseError, yaml.YAMLError):
    """A document whose aliases expand past the budget, or refer to an enclosing node. A ParseError for callers
    of the analyzers and a YAMLError for code that already handles PyYAML's errors (both see the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # Read by handlers that format PyYAML errors as "invalid YAML at line N: <problem>".
        self.problem = message
        self.problem_mark = None


def alias_expansion(root: yaml.Node | None) -> int:
    """Nodes that aliases add to the document rooted at `root`: its size with every alias replaced by a copy of
    its anchored subtree, minus its size as written. Linear in the written size; AliasExpansionError on cycles.

    Aliased scalars count as written: each costs as much input as the node it stands for, so they cannot amplify.
    """
    if not isinstance(root, yaml.CollectionNode) or not _shares_collections(root):
        return 0
    return _expanded_size(root)


def _shares_collections(root: yaml.CollectionNode) -> bool:
    """Whether some collection is reached twice (through an alias, or a cycle). Most documents have no such alias
    and this walk is all they pay: about 5 % of the C loader's time on a large manifest, where the exact count
    below would cost 25 %."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(v, yaml.CollectionNode):
                    stack.append(v)
                if isinstance(k, yaml.CollectionNode):
                    stack.append(k)
        else:
            stack.extend(c for c in node.value if isinstance(c, yaml.CollectionNode))
    return False


def _expanded_size(root: yaml.CollectionNode) -> int:
    # Iterative post-order over the collections, each walked once however often it is referenced (deep documents
    # must not hit the recursion limit here). size[id] is -1 while the node is on the current path (so meeting it
    # again means a cycle), then its expanded size.
    size: dict[int, int] = {}
    written = 0
    stack: list[tuple[yaml.CollectionNode, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children = [n for kv in node.value for n in kv] if isinstance(node, yaml.MappingNode) else node.value
        if done:
            nested = scalars = 0
            for child in children:
                if isinstance(child, yaml.CollectionNode):
                    nested += size[id(child)]
                else:
                    scalars += 1
            size[id(node)] = 1 + scalars + nested
            written += 1 + scalars
            continue
        state = size.get(id(node))
        if state is not None:
            if state < 0:
                raise AliasExpansionError(f"YAML anchor at line {node.start_mark.line + 1} is aliased inside "
                                          "itself (recursive structure)")
            continue
        size[id(node)] = -1
        stack.append((node, True))
        stack.extend((c, False) for c in children if isinstance(c, yaml.CollectionNode))
    return size[id(root)] - written


class _AliasBudget:
    """Mixin for a PyYAML loader class: checks each composed document before it is returned (and constructed)."""

    alias_budget = MAX_ALIAS_NODES
    _alias_spent = 0
    _may_alias = True

    def __init__(self, stream: Any) -> None:
        # Only an anchor (`&name`) lets a node be reached twice. A text without the character (in any of YAML's
        # encodings its bytes hold 0x26) has no aliases, and its documents skip the walk over their collections.
        if isinstance(stream, str):
            self._may_alias = "&" in stream
        elif isinstance(stream, bytes):
            self._may_alias = b"&" in stream
        super().__init__(stream)  # type: ignore[call-arg]

    def _alias_error(self, node: yaml.Node | None) -> AliasExpansionError | None:
        if not self._may_alias:
            return None
        try:
            self._alias_spent += alias_expansion(node)
        except AliasExpansionError as e:
            return e.with_traceback(None)
        if self._alias_spent > self.alias_budget:
            return AliasExpansionError(f"YAML aliases expand beyond {self.alias_budget} nodes (alias bomb?)")
        return None

    # The error is raised here, from a frame that no longer holds the document: tools that print the arguments or
    # locals of a traceback's frames (pytest, debuggers) would otherwise repr the node graph, which is as
    # exponential as the expansion itself.
    def get_node(self) -> Any:
        node = super().get_node()  # type: ignore[misc]
        error = self._alias_error(node)
        if error is not None:
            del node
            raise error
        return node

    def get_single_node(self) -> Any:
        node = super().get_single_node()  # type: ignore[misc]
        error = self._alias_error(node)
        if error is not None:
            del node
            raise error
        return node


class SafeLoader(_AliasBudget, yaml.SafeLoader):
    """yaml.SafeLoader (pure Python) with the alias budget."""


if getattr(yaml, "__with_libyaml__", False):

    class CSafeLoader(_AliasBudget, yaml.CSafeLoader):  # type: ignore[misc]
        """yaml.CSafeLoader (libyaml's C parser and composer, ~10x faster) with the alias budget."""

else:  # pragma: no cover - depends on how PyYAML was built
    CSafeLoader = SafeLoader  # type: ignore[misc, assignment]


def safe_load(stream: str | bytes) -> Any:
    """Drop-in for yaml.safe_load (same pure-Python loader, same results) with the alias budget."""
    return yaml.load(stream, Loader=SafeLoader)  # a safe loader: no arbitrary Python objects
