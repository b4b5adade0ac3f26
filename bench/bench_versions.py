"""Version-comparison throughput per scheme.

    PYTHONPATH=src .venv/bin/python bench/bench_versions.py [--seconds 0.3]

For each ecosystem, on a set of realistic version strings:
  cold parse   key() on strings not yet in the cache (the cache is cleared before each pass)
  warm key     key() on cached strings (an lru_cache hit)
  warm compare compare(a, b) on cached strings (two cache hits + one tuple comparison)
  key compare  `ka < kb` on keys the caller already holds (what a matcher does with a version it keyed once)
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from vigil.detectors.versions import scheme_for

SAMPLES: dict[str, list[str]] = {
    "pypi": [
        "1.26.18",
        "2.31.0",
        "2.0.0rc1",
        "1.0.dev3",
        "4.2.post1",
        "3.2.25",
        "1!2.0",
        "0.10.0b2",
        "2024.1.1",
        "1.0+ubuntu.1",
        "5.0a1",
        "23.2",
        "3.11.4",
    ],
    "npm": [
        "4.17.21",
        "1.2.3-beta.4",
        "0.0.1",
        "10.2.0",
        "2.0.0-rc.1",
        "v1.0.0",
        "7.5.10",
        "3.0.0-alpha.10+build.7",
        "0.3.12",
        "1.13.6",
        "18.2.0-next.3",
    ],
    "cargo": [
        "1.0.197",
        "0.4.20",
        "0.2.155",
        "1.38.0",
        "0.11.0-rc.2",
        "2.5.0",
        "0.3.30",
        "1.0.0-alpha.1+001",
    ],
    "hex": ["1.7.10", "0.20.2", "2.1.0-rc.1", "1.4.3", "0.6.0", "3.0.0-beta.2"],
    "pub": ["1.0.0", "2.3.4+5", "0.13.0-nullsafety.0", "3.1.2", "1.0.0-dev.1+build", "6.0.1"],
    "go": [
        "v1.2.3",
        "v0.0.0-20220722155237-a158d28d115b",
        "v1.9.1",
        "v2.0.0+incompatible",
        "1.21.0-0",
        "go1.21.3",
        "v0.17.0",
        "v1.4.1-0.20230101000000-abcdef123456",
        "1.20.14",
        "go1.22rc1",
        "v0.15.0",
        "v3.1.4",
    ],
    "rubygems": ["7.1.3", "6.1.7.6", "2.0.0.rc1", "1.15.4", "3.2.0-beta.1", "0.9.2", "5.2.8.1", "1.0.0.pre"],
    "maven": [
        "2.17.1",
        "5.3.20.RELEASE",
        "2.0.0-M1",
        "1.0-SNAPSHOT",
        "3.12.0",
        "9.4.48.v20220622",
        "2.13.4.2",
        "1.7.36",
        "31.1-jre",
        "4.1.86.Final",
        "1.0.0-rc1",
        "2.15.0-rc2",
        "1.2.3-sp1",
    ],
    "composer": [
        "v5.4.21",
        "2.4.0-beta1",
        "1.0.0-RC2",
        "7.4.0",
        "3.0.0-dev",
        "v2.8.52",
        "6.0.0-patch1",
        "1.2.3.4",
    ],
    "nuget": [
        "13.0.3",
        "6.0.0-preview.7.21377.19",
        "1.0.0.0",
        "4.7.2",
        "2.2.0-RC",
        "8.0.1",
        "1.0.0-beta.11+sha.5",
    ],
    "debian": [
        "2:1.20.11-1+deb11u6",
        "0.2.0-3+deb11u1",
        "4.14.5+94-ge49571868d-1",
        "111.0.5563.110-1~deb11u1",
        "2.4.56-1~deb11u1",
        "1.1.1n-0+deb11u4",
        "5.10.162-1",
        "1:9.16.37-1~deb11u1",
    ],
    "rpm": [
        "128.12.0-1.el10_0",
        "2:1.2.3-4.el8",
        "8.0.30-1.module_el8.6.0+3070+fd40cd8b",
        "2.17-326.el7_9.3",
        "1.0~rc1-1.el9",
        "4.18.0-553.el8_10",
        "1:3.0.7-25.el9_3",
    ],
    "alpine": [
        "2.4.26-r0",
        "9.10.4_p8-r1",
        "1.24.2-r2",
        "3.3.3p1-r3",
        "1.2.3_rc1-r0",
        "2.15.05-r0",
        "1.36.1-r15",
        "0.8.8g-r1",
    ],
}


def _variants(base: list[str], n: int) -> list[str]:
    """`n` distinct strings shaped like `base` (bump the last digit run) so cold parses really are cold."""
    out: list[str] = []
    i = 0
    while len(out) < n:
        for v in base:
            if i == 0:
                out.append(v)
                continue
            j = len(v)
            while j and not v[j - 1].isdigit():
                j -= 1
            k = j
            while k and v[k - 1].isdigit():
                k -= 1
            out.append(v if k == j else f"{v[:k]}{int(v[k:j]) + i}{v[j:]}")
        i += 1
    return list(dict.fromkeys(out))[:n]


def _rate(fn: Callable[[], int], seconds: float) -> float:
    done = 0
    start = time.perf_counter()
    while True:
        done += fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def bench(eco: str, seconds: float) -> tuple[float, float, float, float]:
    scheme = scheme_for(eco)
    versions = _variants(SAMPLES[eco], 2000)
    clear: Callable[[], None] = scheme.cache_clear  # type: ignore[attr-defined]
    key = scheme.key
    compare = scheme.compare
    rng = random.Random(42)
    pairs = [(rng.choice(versions), rng.choice(versions)) for _ in range(10_000)]

    def cold() -> int:
        clear()
        for v in versions:
            key(v)
        return len(versions)

    cold_rate = _rate(cold, seconds)
    for v in versions:
        key(v)

    def warm_key() -> int:
        for v in versions:
            key(v)
        return len(versions)

    def warm_compare() -> int:
        for a, b in pairs:
            compare(a, b)
        return len(pairs)

    key_pairs = [(key(a), key(b)) for a, b in pairs]

    def key_compare() -> int:
        for ka, kb in key_pairs:
            ka < kb  # noqa: B015
        return len(key_pairs)

    return cold_rate, _rate(warm_key, seconds), _rate(warm_compare, seconds), _rate(key_compare, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=0.3, help="time per measurement (default 0.3)")
    parser.add_argument("ecosystems", nargs="*", default=list(SAMPLES), help="subset of ecosystems")
    args = parser.parse_args()
    print(
        f"{'ecosystem':<10} {'cold parse/s':>14} {'warm key/s':>14} {'warm compare/s':>15} {'key compare/s':>14}"
    )
    for eco in args.ecosystems:
        cold, warm_key, warm_cmp, key_cmp = bench(eco, args.seconds)
        print(f"{eco:<10} {cold:>14,.0f} {warm_key:>14,.0f} {warm_cmp:>15,.0f} {key_cmp:>14,.0f}")


if __name__ == "__main__":
    main()
