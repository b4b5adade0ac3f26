"""Package-graph helpers shared by lockfile parsers (npm, yarn, pnpm, bun, go.mod, Cargo.lock): `PackageSet`
(collect packages by ID, merging duplicates) and `reachable` (closure over dependency edges)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from vigil.inventory.purl import make_purl
from vigil.inventory.records import Location, Package, Relationship

# When the same package (name@version) appears several times, the merged record keeps the strongest relationship;
# a known relationship beats "unknown" (e.g. a yarn berry `patch:` entry nothing refers to, merged with the
# reachable entry of the version it patches).
_REL_RANK: dict[str, int] = {"unknown": 0, "indirect": 1, "direct": 2, "workspace": 3, "root": 4}


class _Pending(msgspec.Struct):  # a Struct is made in C: a third of a dataclass's time, one per package
    name: str
    version: str
    dev: bool
    relationship: Relationship
    depends_on: set[str] = msgspec.field(default_factory=set)
    lines: set[tuple[int, int]] = msgspec.field(default_factory=set)


def package_id(name: str, version: str) -> str:
    """Trivy's package ID: name@version; a versionless (workspace) package is identified by its name alone."""
    return f"{name}@{version}" if version else name


class PackageSet:
    """Collects packages by ID, merging duplicates: dev only if every occurrence is dev, the strongest
    relationship, the union of dependencies and of line ranges. `build` returns them sorted by name and version."""

    def __init__(self, ecosystem: str) -> None:
        self.ecosystem = ecosystem
        self._items: dict[str, _Pending] = {}

    def __contains__(self, pkg_id: object) -> bool:
        return pkg_id in self._items

    def add(
        self,
        name: str,
        version: str,
        *,
        dev: bool = False,
        relationship: Relationship = "unknown",
        depends_on: Iterable[str] = (),
        lines: tuple[int, int] | None = None,
    ) -> str:
        pid = package_id(name, version)
        cur = self._items.get(pid)
        if cur is None:
            cur = self._items[pid] = _Pending(name, version, dev, relationship)
        else:
            cur.dev = cur.dev and dev
            if _REL_RANK[relationship] > _REL_RANK[cur.relationship]:
                cur.relationship = relationship
        cur.depends_on.update(depends_on)
        if lines is not None:
            cur.lines.add(lines)
        return pid

    def build(self) -> tuple[Package, ...]:
        # Each record built once, with its final ID and locations (what _common.package followed by a replace of
        # those two fields gave, for a tenth of the lockfile corpus's parsing time).
        # Most packages have one location and a few dependencies: those are made without a generator each.
        out: list[Package] = []
        eco, items = self.ecosystem, self._items
        known = items.keys()
        for pid, p in items.items():
            deps = p.depends_on
            if deps:
                deps = deps & known  # a new set: the pending record is left as it was
                deps.discard(pid)
            lines = p.lines
            if len(lines) == 1:
                ((s, e),) = lines
                locations: tuple[Location, ...] = (Location(start_line=s, end_line=e),)
            else:
                locations = tuple(Location(start_line=s, end_line=e) for s, e in sorted(lines))
            out.append(Package(
                ecosystem=eco, name=p.name, version=p.version, id=pid, purl=make_purl(eco, p.name, p.version),
                dev=p.dev, relationship=p.relationship, depends_on=tuple(sorted(deps)) if deps else (),
                locations=locations,
            ))
        out.sort(key=lambda q: (q.name, q.version))
        return tuple(out)


def reachable(roots: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node reachable from `roots` (roots included), iteratively (graphs may be deep or cyclic)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return seen
