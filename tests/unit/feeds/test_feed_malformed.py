"""Malformed input: every parse() either yields records or raises FeedError — never another exception.

Explicit cases check the messages (file and line named); Hypothesis fuzzes each feed with arbitrary bytes and with
real records whose fields are replaced by arbitrary JSON (or by range-syntax fragments).
"""

from __future__ import annotations

import glob
import gzip
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.vulndb.build.feeds import all_feeds
from vigil.vulndb.build.records import Feed, FeedError

ADVISORIES = Path(__file__).resolve().parents[4] / "shared" / "data" / "advisories"
FEEDS = {f.name: f for f in all_feeds()}
JSONL_FEEDS = sorted(n for n, f in FEEDS.items() if any(p.endswith((".jsonl.gz", ".jsonl")) for p in f.paths))
DOC_FEEDS = sorted(set(FEEDS) - set(JSONL_FEEDS))  # one document per file: nvd, kev, retire.js*, OVAL XML
# OVAL XML feeds: JSON mutation does not apply; tests/unit/test_os_feeds.py mutates their XML instead.
XML_FEEDS = sorted(n for n, f in FEEDS.items() if any(p.endswith((".xml", ".xml.gz")) for p in f.paths))


def run(feed: Feed, data: bytes) -> list[object]:
    return list(feed.parse("input.json", data))


@pytest.mark.parametrize("name", JSONL_FEEDS)
def test_invalid_json_line_names_the_line(name: str) -> None:
    with pytest.raises(FeedError, match=r"input\.json:3: invalid JSON"):
        run(FEEDS[name], b"\n  \n{not json\n")


@pytest.mark.parametrize("name", JSONL_FEEDS)
def test_non_object_line(name: str) -> None:
    with pytest.raises(FeedError, match=r"input\.json:1: expected a JSON object"):
        run(FEEDS[name], b"[1, 2]\n")


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_invalid_utf8(name: str) -> None:
    with pytest.raises(FeedError):
        run(FEEDS[name], b'{"id": "\xff\xfe"}\n')


@pytest.mark.parametrize("name", DOC_FEEDS)
def test_truncated_document(name: str) -> None:
    with pytest.raises(FeedError):
        run(FEEDS[name], b'{"CVE_Items": [')
    with pytest.raises(FeedError):
        run(FEEDS[name], b"")
    with pytest.raises(FeedError):
        run(FEEDS[name], b"[]")


@pytest.mark.parametrize("name", JSONL_FEEDS)
def test_empty_jsonl_is_empty(name: str) -> None:
    assert run(FEEDS[name], b"") == []
    assert run(FEEDS[name], b"\n\n") == []


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("pypa", {"id": 5}),
        ("pypa", {"id": "PYSEC-1", "affected": "pyyaml"}),
        (
            "pypa",
            {"id": "PYSEC-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [5]}]},
        ),
        (
            "go-vulndb",
            {
                "id": "GO-1",
                "affected": [
                    {
                        "package": {"ecosystem": "Go", "name": "m"},
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": 0}]}],
                    }
                ],
            },
        ),
        (
            "ghsa",
            {
                "id": "GHSA-1",
                "aliases": [1],
                "affected": [
                    {
                        "package": {"ecosystem": "Maven", "name": "a:b"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                    }
                ],
            },
        ),
        ("rustsec", {"advisory": {"package": "p"}}),
        ("rustsec", {"advisory": {"id": "R", "package": "p"}, "versions": {"patched": [1]}}),
        ("ruby-advisory-db", {"gem": "g", "cve": ["x"]}),
        ("ruby-advisory-db", {"gem": "g", "cve": "2099-1", "cvss_v3": "high"}),
        ("php-security-advisories", {"title": "t"}),
        ("php-security-advisories", {"reference": "composer://a/b", "cve": "CVE-1", "branches": {"x": []}}),
        ("nodejs-security-wg", {"_source_path": "vuln/npm/1.json", "id": 1}),
        ("victims", {"title": "no cve"}),
        ("victims", {"cve": "2099-1", "affected": [{"name": "x", "version": "<1"}], "cvss_v2": "7"}),
        ("elixir-security-advisories", {"cve": "2099-1"}),
        ("nvd-curated", {"id": "CVE-2099-1", "cvssMetricV31": [{"baseScore": "high"}]}),
    ],
)
def test_wrong_types_raise_feed_error(name: str, line: dict[str, object]) -> None:
    with pytest.raises(FeedError, match=r"input\.json:1"):
        run(FEEDS[name], json.dumps(line).encode())


# --------------------------------------------------------------------------------------------------- fuzzing

RANGE_SNIPPETS = [
    "",
    "0",
    "*",
    "x",
    "v1",
    "<1.0",
    ">= 1.2, < 2",
    "~> 1.2",
    "~> 1",
    "^0.0",
    "1.x || 2",
    " - ",
    "||",
    ",",
    "!= 1",
    "1.0 and 2.0 or",
    "<=2.0.11.2,2.0",
    ">=0.5,0",
    "composer://a/b",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N",
    "AV:N/AC:L/Au:N/C:P/I:P/A:P",
    "0001-01-01T00:00:00Z",
    "crates/x/RUSTSEC-1.md",
    "rubies/ruby/x.yml",
    "vuln/npm/1.json",
]

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=8)
    | st.sampled_from(RANGE_SNIPPETS),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def mutate(draw: Callable[[st.SearchStrategy[Any]], Any], value: Any) -> Any:
    """Replace or delete one node somewhere inside `value` (or `value` itself)."""
    if not isinstance(value, dict | list) or not value or draw(st.integers(0, 4)) == 0:
        return draw(JSON_VALUES)
    if isinstance(value, dict):
        key = draw(st.sampled_from(sorted(value)))
        out = dict(value)
        if draw(st.booleans()) and draw(st.booleans()):
            del out[key]
        else:
            out[key] = mutate(draw, value[key])
        return out
    idx = draw(st.integers(0, len(value) - 1))
    items = list(value)
    items[idx] = mutate(draw, value[idx])
    return items


def _strip_nvd_item(item: Any) -> Any:
    if isinstance(item, dict):
        item = {k: v for k, v in item.items() if k != "configurations"}
    return item


@cache
def seeds(name: str) -> tuple[Any, ...]:
    """A few real records of the feed to mutate (or a tiny synthetic one if the data is absent)."""
    feed = FEEDS[name]
    files = sorted({p for pat in feed.paths for p in glob.glob(str(ADVISORIES / pat))})
    if not files:
        return ({"id": "X"},)
    opener = gzip.open if files[0].endswith(".gz") else open
    with opener(files[0], "rb") as f:
        data = f.read()
    if name in JSONL_FEEDS:
        lines = [ln for ln in data.split(b"\n") if ln.strip()]
        return tuple(json.loads(ln) for ln in lines[:: max(1, len(lines) // 40)][:40])
    doc = json.loads(data)
    if name == "nvd":
        return ({"CVE_Items": [_strip_nvd_item(i) for i in doc["CVE_Items"][:4]]},)
    if name == "cisa-kev":
        return ({**doc, "vulnerabilities": doc["vulnerabilities"][:5]},)
    keys = [k for k in ("lodash", "jquery", "ws", "marked", "moment.js", "ExtJS") if k in doc] or list(doc)[
        :4
    ]
    return ({k: doc[k] for k in keys},)


def _check(feed: Feed, data: bytes) -> None:
    try:
        items = list(feed.parse("fuzz.json", data))
    except FeedError:
        return
    assert isinstance(items, list)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(FEEDS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(name: str, data: bytes) -> None:
    _check(FEEDS[name], data)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(set(FEEDS) - set(XML_FEEDS)))
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_fuzz_mutated_records(name: str, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(seeds(name)))
    doc = mutate(data.draw, seed)
    if name in JSONL_FEEDS:
        # one or two lines: the mutated record, optionally followed by an intact one
        lines = [doc] + ([seed] if data.draw(st.booleans()) else [])
        payload = "\n".join(json.dumps(x) for x in lines).encode()
    else:
        payload = json.dumps(doc).encode()
    _check(FEEDS[name], payload)


def test_seeds_are_real_records_when_data_present() -> None:
    if not ADVISORIES.is_dir():
        pytest.skip("../shared advisory data not present")
    for name in sorted(set(FEEDS) - set(XML_FEEDS)):
        assert seeds(name) and seeds(name)[0] != {"id": "X"}, name
        # the unmutated seeds parse cleanly
        for seed in seeds(name):
            payload = json.dumps(seed).encode()
            list(FEEDS[name].parse("seed.json", payload))
