"""Reverse dependency chains (--dependency-tree)."""

from __future__ import annotations

from vigil.analyzers.lang._common import package
from vigil.inventory.graph import reverse_chains


def test_reverse_chains_stop_at_direct_and_cut_cycles() -> None:
    pkgs = [
        package("npm", "app", "1.0.0", relationship="direct", depends_on=["mid@1.0.0"]),
        package("npm", "other", "1.0.0", relationship="direct", depends_on=["vuln@0.1.0"]),
        package("npm", "mid", "1.0.0", relationship="indirect", depends_on=["vuln@0.1.0", "cyc@1.0.0"]),
        package("npm", "cyc", "1.0.0", relationship="indirect", depends_on=["mid@1.0.0"]),
        package("npm", "vuln", "0.1.0", relationship="indirect"),
    ]
    chains = reverse_chains(pkgs, "vuln@0.1.0")
    assert chains == [["vuln@0.1.0", "other@1.0.0"], ["vuln@0.1.0", "mid@1.0.0", "app@1.0.0"],
                      ["vuln@0.1.0", "mid@1.0.0", "cyc@1.0.0"]]
    assert reverse_chains(pkgs, "app@1.0.0") == [["app@1.0.0"]]
    many = [package("npm", f"p{i}", "1", relationship="direct", depends_on=["x@1"]) for i in range(30)]
    assert len(reverse_chains([*many, package("npm", "x", "1")], "x@1")) == 10
