"""PyPI versions: PEP 440 (https://peps.python.org/pep-0440/), parsed by `packaging.version.Version`.

Parsing (normalisation, the optional leading "v", epochs, local labels, …) is left entirely to `packaging`; strings
it rejects — including pre-PEP 440 "legacy" versions such as "1.0-foo-bar" — raise our InvalidVersion.

The key rebuilds packaging's own comparison key from the public attributes of `Version` as a plain tuple (no
Infinity sentinels), so that warm comparisons are C-level tuple comparisons. The rules it encodes (PEP 440,
"Summary of permitted suffixes and relative ordering"):
  * epoch first, then the release segment with trailing zeros ignored ("1.0" == "1.0.0");
  * a dev-only release sorts before pre-releases of the same release: 1.0.dev1 < 1.0a1 < 1.0b1 < 1.0rc1 < 1.0;
  * then post-releases: 1.0 < 1.0.post1; dev releases sort before what they precede: 1.0.post1.dev1 < 1.0.post1;
  * local labels last: 1.0 < 1.0+abc < 1.0+1 (numeric local segments sort after alphanumeric ones).
Equal keys <=> `Version` equality (tested against packaging itself in tests/unit/versions).
"""

from __future__ import annotations

from packaging.version import InvalidVersion as _PackagingInvalidVersion
from packaging.version import Version

from vigil.detectors.versions._base import Key, KeyedScheme, invalid

_NAME = "pep440"


def _local_key(local: str | None) -> tuple[tuple[int, int, str], ...]:
    if local is None:
        return ()  # no local label sorts before any local label
    # packaging normalises local labels to lower case joined by "."; PEP 440: numeric segments compare
    # numerically and sort after alphanumeric ones, which compare lexically.
    return tuple((1, int(seg), "") if seg.isdigit() else (0, 0, seg) for seg in local.split("."))


def parse(version: str) -> Key:
    try:
        v = Version(version)
    except (_PackagingInvalidVersion, ValueError) as exc:
        raise invalid(version, _NAME, str(exc)) from exc
    release = v.release
    end = len(release)
    while end and release[end - 1] == 0:
        end -= 1
    pre = v.pre
    post = v.post
    dev = v.dev
    if pre is None and post is None and dev is not None:
        pre_key: tuple[object, ...] = (0,)  # 1.0.dev0 < 1.0a0
    elif pre is None:
        pre_key = (2,)  # a final (or post) release sorts after all of its pre-releases
    else:
        pre_key = (1, pre[0], pre[1])  # "a" < "b" < "rc" lexically, as PEP 440 orders them
    post_key = (0,) if post is None else (1, post)
    dev_key = (1,) if dev is None else (0, dev)
    return (v.epoch, release[:end], pre_key, post_key, dev_key, _local_key(v.local))


SCHEME = KeyedScheme(_NAME, parse)
