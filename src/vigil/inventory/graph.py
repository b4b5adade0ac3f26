"""Dependency graph helpers over Package.depends_on (IDs "name@version")."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.inventory.records import Package

MAX_PATHS = 10
MAX_DEPTH = 32


def reverse_chains(pkgs: Iterable[Package], target_id: str, max_paths: int = MAX_PATHS) -> list[list[str]]:
    """Chains [target, parent, grandparent, ..., top] walking depends_on edges backwards until a package that
    nothing depends on or that is direct/root (Trivy's "Dependency Origin Tree (Reversed)"). Cycles are cut;
    at most `max_paths` chains, shortest first."""
    by_id = {p.id: p for p in pkgs if p.id}
    parents: dict[str, list[str]] = {}
    for p in by_id.values():
        for d in p.depends_on:
            parents.setdefault(d, []).append(p.id)
    for v in parents.values():
        v.sort()
    out: list[list[str]] = []

    def top(pid: str) -> bool:
        p = by_id.get(pid)
        return p is not None and p.relationship in ("direct", "root", "workspace")

    def walk(chain: list[str]) -> None:
        if len(out) >= max_paths:
            return
        cur = chain[-1]
        ups = [u for u in parents.get(cur, []) if u not in chain]
        if (len(chain) > 1 and top(cur)) or not ups or len(chain) >= MAX_DEPTH:
            out.append(list(chain))
            return
        for u in ups:
            walk([*chain, u])

    walk([target_id])
    out.sort(key=lambda c: (len(c), c))
    return out
