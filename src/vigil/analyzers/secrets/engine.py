"""The secret engine: every rule in one pass per window, then exact `re` matching for the rules that can fire.

Pipeline per window (Trivy's scanChunk, reorganised so the cost does not grow with the number of rules):
  1. candidates: ONE multi-pattern pass tells which rules can match in this window. With hyperscan, every rule
     regex (compiled in PREFILTER mode, so it is a superset of the Python regex) and every keyword literal are in
     one database; a rule is a candidate when one of its keywords AND its prefilter regex hit. Without hyperscan,
     the `re` backend lower-cases the window once and tests each distinct keyword with a C substring search.
  2. exact: each candidate rule's Python regex runs over the window. Both backends share this step, so their
     results are identical (the hyperscan prefilter can only drop rules whose regex cannot match).
  3. allow rules (global and per rule: path, secret regex), exclude blocks, then masking.

Regexes from a user's secret config (custom rules, their paths, allow rules, exclude blocks, skip patterns) are
not run by `re`: the config can come from the checkout being scanned, and a backtracking regex such as `(a|aa)+b`
would hang the scan. They run on the linear-time matcher of vigil.analyzers.secrets.linear, which has the same
results (leftmost-first, same groups) in O(text x pattern) steps under a work budget; a search over budget is
abandoned for that rule and file with a warning. The packaged rules keep `re` (they use lookarounds, and their
results stay byte-identical); the prefilter is the same for both.

Large inputs are processed in windows of CHUNK_SIZE bytes with OVERLAP bytes of context on both sides; a match is
reported by the window that owns its start offset, so a secret straddling a boundary is found exactly once.
Pure: (path, bytes) in, findings out; no file access.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from functools import cache, cached_property
from typing import Any, Protocol

import msgspec

from vigil.analyzers.secrets.linear import BudgetExceeded, LinearPattern
from vigil.analyzers.secrets.rules import DUP_GROUP, AllowRule, RuleSet, builtin
from vigil.findings.records import Code, CodeLine, SecretFinding, Severity
from vigil.log import get_logger

log = get_logger(__name__)

# bump VERSION (in rules.py, which cache keys read without importing this engine) when matching semantics change
CHUNK_SIZE = 1 << 20
OVERLAP = 16 << 10  # larger than any secret we match (an RSA-4096 PEM body is ~3.2 KiB)
MIN_SIZE = 10  # Trivy skips files smaller than this
# Compiling the hyperscan database of the packaged rules costs about 0.25 s of CPU; it then scans at ~7 ms/MiB where
# the re backend's keyword search takes ~30 ms/MiB (a Debian root filesystem's files). Below this many bytes to scan,
# re is done before hyperscan would have compiled (SecretScanner.plan), unless a compiled database is kept.
HYPERSCAN_MIN_BYTES = 8 << 20
BINARY_PROBE = 1024  # a NUL byte in the first KiB means binary
CONTEXT_LINES = 2
MAX_LINE = 100  # longer lines (minified code) are cut around the secret, as Trivy cuts them


# The engine's own regexes are compiled when first used, not when it is imported: most scans find no secret (these
# show and mask findings), scan no .pyc (printable runs) and compile no hyperscan database (bounded repeats).
@cache
def _not_newline() -> re.Pattern[bytes]:
    return re.compile(rb"[^\r\n]")


@cache
def _printable() -> re.Pattern[bytes]:
    return re.compile(rb"[\x20-\x7e\t]{5,}")


@cache
def _replacements() -> re.Pattern[str]:
    return re.compile("\ufffd{2,}")


_ANY_DIR = "(?:.*/)?"
_ANY_NAME = "[^/]*"


def _glob_to_regex(pattern: str) -> str:
    p = pattern.strip().replace("\\", "/")
    out: list[str] = []
    i = 0
    while i < len(p):
        if p.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif p.startswith("**", i):
            out.append(".*")
            i += 2
        elif p[i] == "*":
            out.append("[^/]*")
            i += 1
        elif p[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(p[i]))
            i += 1
    body = "".join(out)
    return body if "/" in p else f"(?:.*/)?{body}"


def compile_globs(patterns: Iterable[str], linear: bool = False) -> re.Pattern[str] | LinearPattern | None:
    parts = [_glob_to_regex(p) for p in patterns if p.strip()]
    if not parts:
        return None
    # `**/x/**` must also match files directly below `x`; `(?:/.*)?` lets a directory pattern skip its subtree.
    rx = "(?:" + "|".join(parts) + r")(?:/.*)?\Z"
    if not linear and all(p.startswith(_ANY_DIR) for p in parts):
        # the same language with the leading `(?:.*/)?` said once: `re` then tries each directory of a path once,
        # not once per pattern (the packaged skip patterns are all `**/…`; a tenth of a root filesystem's scan)
        bodies = [p[len(_ANY_DIR):] for p in parts]
        # and the `[^/]*` of the `**/*.ext` ones once too, x(a|b) being xa|xb: half the branches to compile, and
        # `re` reads each base name once, not once per extension
        names = [b[len(_ANY_NAME):] for b in bodies if b.startswith(_ANY_NAME)]
        if len(names) > 1:
            bodies = [b for b in bodies if not b.startswith(_ANY_NAME)] + [_ANY_NAME + "(?:" + "|".join(names) + ")"]
        rx = _ANY_DIR + "(?:" + "|".join(bodies) + r")(?:/.*)?\Z"
    # a glob such as **/a/**/a/**/a/**/b backtracks polynomially in `re`; the user's globs run linearly
    return LinearPattern(rx) if linear else re.compile(rx)


PathRx = re.Pattern[str] | LinearPattern
BytesRx = re.Pattern[bytes] | LinearPattern


class _AllowC(msgspec.Struct, frozen=True):
    path: PathRx | None
    regex: BytesRx | None
    # What the regex judges: a user's allow rule the whole match (Trivy's semantics: the context, e.g. a variable
    # name, can be what makes a value harmless); the packaged placeholder rule the secret value alone.
    on_secret: bool = False


def _allow_c(a: AllowRule, linear: bool) -> _AllowC:
    return _AllowC(
        on_secret=not linear,
        path=(LinearPattern(a.path) if linear else re.compile(a.path)) if a.path else None,
        regex=(LinearPattern(a.regex) if linear else re.compile(a.regex.encode())) if a.regex else None,
    )


class _RuleC(msgspec.Struct, frozen=True, dict=True):  # dict: room for the cached_property values
    index: int
    id: str
    category: str
    title: str
    severity: Severity
    pattern: bytes  # the rule's regex
    secret_group: str
    path: PathRx | None
    allows: tuple[_AllowC, ...]
    exclude: tuple[BytesRx, ...]
    keywords: tuple[bytes, ...]
    linear: bool  # from a user's config: run by the linear-time matcher
    near: int | None = None  # index of the rule whose matches this rule's must be near (packaged rules only)
    near_distance: int = 0

    @cached_property
    def rx(self) -> BytesRx:
        """Compiled on first use: only the rules the prefilter lets through run their exact regex, and compiling
        every packaged regex up front cost a scan of a few files more than the rest of its set-up."""
        # A user's regex runs as Trivy runs it (Go regexp): `^`/`$` are the ends of the text unless it says (?m).
        # The packaged rules are written for per-line anchors.
        return LinearPattern(self.pattern) if self.linear else re.compile(self.pattern, re.MULTILINE)

    @cached_property
    def groups(self) -> tuple[str, ...]:
        """The secret group names, in pattern order: `secret` and its alternative `secret2` (the first that took
        part is the secret), then any further groups a user's regex names `secret` too (renamed secret__2, … when
        the config was read), each of which is a secret of its own, as in Trivy."""
        g = self.secret_group
        return tuple(n for n in (g, g + "2") if n in self.rx.groupindex)

    @cached_property
    def extra_groups(self) -> tuple[str, ...]:
        g = self.secret_group + DUP_GROUP
        return tuple(sorted((n for n in self.rx.groupindex if n.startswith(g)), key=self.rx.groupindex.__getitem__))


def _compile_rules(rs: RuleSet) -> list[_RuleC]:
    out = []
    packaged = set(builtin().rules)
    index = {r.id: i for i, r in enumerate(rs.rules)}
    for i, r in enumerate(rs.rules):
        linear = r not in packaged
        rule = _RuleC(
            index=i,
            id=r.id,
            category=r.category,
            title=r.title,
            severity=r.severity,  # type: ignore[arg-type]  # validated by rules.py
            pattern=r.regex.encode(),
            secret_group=r.secret_group_name,
            path=(LinearPattern(r.path) if linear else re.compile(r.path)) if r.path else None,
            allows=tuple(_allow_c(a, linear) for a in r.allow_rules),
            exclude=tuple(_exclude_c(x, linear) for x in r.exclude_block.regexes),
            keywords=tuple(dict.fromkeys(k.lower().encode() for k in r.keywords if k)),
            linear=linear,
            near=index.get(r.near, -1) if r.near else None,  # -1: its anchor rule is disabled
            near_distance=r.near_distance,
        )
        if linear:
            _ = rule.rx  # a user's rule: built now, so any problem shows when the config is loaded
        out.append(rule)
    return out


def _exclude_c(x: str, linear: bool) -> BytesRx:
    return LinearPattern(x) if linear else re.compile(x.encode(), re.MULTILINE)


class Backend(Protocol):
    name: str

    def candidates(self, buf: bytes) -> set[int]: ...


class CompiledStore(Protocol):
    """Where a compiled matcher is kept between runs (the pipeline hands in one under the cache directory): the
    hyperscan compile of the packaged rules takes longer than the rest of a small scan. `get` returns None for a
    missing or damaged entry; `put` never fails the scan. Keys are file-name safe."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...

    def may_hold(self, prefix: str) -> bool:
        """False when no key starting with `prefix` is kept (get() of any such key would return None)."""
        ...


class ReBackend:
    """Pure Python: lower-case the window once, then one C substring search per distinct keyword."""

    name = "re"

    def __init__(self, rules: list[_RuleC]) -> None:
        by_kw: dict[bytes, list[int]] = {}
        self.always: list[int] = []
        for r in rules:
            if not r.keywords:
                self.always.append(r.index)
            for k in r.keywords:
                by_kw.setdefault(k, []).append(r.index)
        self.by_kw = list(by_kw.items())

    def candidates(self, buf: bytes) -> set[int]:
        low = buf.lower()
        out = set(self.always)
        for k, ids in self.by_kw:
            if k in low:
                out.update(ids)
        return out


@cache
def _repeat() -> re.Pattern[bytes]:
    return re.compile(rb"(?<!\\)\{(\d+)(?:,\d*)?\}")


def _loosen(pattern: bytes) -> bytes:
    """Turn every bounded repeat {m,n} into {min(m,8),}: still a superset of the exact regex (all the prefilter
    must be), and hyperscan compiles it in milliseconds instead of minutes (large bounded repeats explode)."""
    return _repeat().sub(lambda m: b"{%d,}" % min(int(m[1]), 8), pattern)


class HyperscanBackend:
    """One hyperscan database: rule regexes in PREFILTER mode (a superset of the exact regex, and it accepts
    constructs hyperscan cannot run exactly, such as lookarounds) plus every keyword as a caseless literal."""

    name = "hyperscan"

    def __init__(self, rules: list[_RuleC], store: CompiledStore | None = None, compile: bool = True) -> None:
        """`compile=False`: only load the database the store holds; `ready` says whether there was one."""
        import hyperscan

        self.ready = True

        self.n = len(rules)
        self.kw_rules: list[list[int]] = []
        kw_index: dict[bytes, int] = {}
        self.need_kw = [bool(r.keywords) for r in rules]
        for r in rules:
            for k in r.keywords:
                if k not in kw_index:
                    kw_index[k] = len(self.kw_rules)
                    self.kw_rules.append([])
                self.kw_rules[kw_index[k]].append(r.index)
        base = (
            hyperscan.HS_FLAG_PREFILTER
            | hyperscan.HS_FLAG_SINGLEMATCH
            | hyperscan.HS_FLAG_ALLOWEMPTY
            | hyperscan.HS_FLAG_MULTILINE
        )
        lit = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
        self.exact_only: set[int] = set()  # rules hyperscan cannot parse at all: keywords decide, as in ReBackend
        rule_exprs = {r.index: _loosen(r.pattern) for r in rules}
        kw_exprs = [(re.escape(k), self.n + j) for k, j in kw_index.items()]

        def build(skip: set[int]) -> None:
            exprs = [p for i, p in rule_exprs.items() if i not in skip] + [p for p, _ in kw_exprs]
            ids = [i for i in rule_exprs if i not in skip] + [j for _, j in kw_exprs]
            flags = [base] * (len(exprs) - len(kw_exprs)) + [lit] * len(kw_exprs)
            self.db = hyperscan.Database()
            self.empty = not exprs
            if exprs:
                _compile_database(self.db, exprs, ids, flags)

        key = _store_key(hyperscan, rule_exprs, kw_exprs, base, lit) if store is not None and (
            rule_exprs or kw_exprs) else ""
        if key and store is not None and self._load(hyperscan, store, key):
            return
        if not compile:
            self.ready = False
            return
        try:
            build(set())
        except hyperscan.error:
            for i, p in rule_exprs.items():
                try:
                    hyperscan.Database().compile(expressions=[p], ids=[0], elements=1, flags=[base])
                except hyperscan.error:
                    log.debug("hyperscan cannot compile %r; the rule runs on keywords alone", p)
                    self.exact_only.add(i)
            build(self.exact_only)
        if key and store is not None:
            import json  # the hyperscan store's own format (the re backend, most small scans, never loads json)

            header = json.dumps({"exact_only": sorted(self.exact_only)}).encode()
            store.put(key, header + b"\n" + hyperscan.dumpb(self.db))

    def _load(self, hyperscan: Any, store: CompiledStore, key: str) -> bool:
        """The database compiled by an earlier run, if the store has it and it loads; False: compile it."""
        data = store.get(key)
        if data is None:
            return False
        import json

        try:
            header, _, blob = data.partition(b"\n")
            exact_only = {int(i) for i in json.loads(header)["exact_only"]}
            db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)  # loadb gives a database without scratch space
            db.scan(b"\0", match_event_handler=lambda *_: None)  # a database this CPU cannot run fails here, not later
        except (hyperscan.error, ValueError, KeyError, TypeError) as e:
            log.debug("compiled secret rules in the cache cannot be used (%s); compiling them again", e)
            return False
        self.db, self.empty, self.exact_only = db, False, exact_only
        return True

    def candidates(self, buf: bytes) -> set[int]:
        hits: set[int] = set()
        if not self.empty and buf:

            def on(i: int, _f: int, _t: int, _fl: int, _c: object) -> None:
                hits.add(i)

            self.db.scan(buf, match_event_handler=on)
        kw_ok: set[int] = set()
        rule_hits: list[int] = []
        for h in hits:
            if h >= self.n:
                kw_ok.update(self.kw_rules[h - self.n])
            else:
                rule_hits.append(h)
        out = {i for i in rule_hits if i in kw_ok or not self.need_kw[i]}
        if self.exact_only:
            out.update(i for i in self.exact_only if i in kw_ok or not self.need_kw[i])
        return out


def _compile_database(db: Any, exprs: list[bytes], ids: list[int], flags: list[int]) -> None:
    """The one place the rules are compiled (a test counts the calls to see the cache used)."""
    db.compile(expressions=exprs, ids=ids, elements=len(exprs), flags=flags)


# Bumped when what the store holds for a key changes shape (the header line, the serialised database).
_STORE_FORMAT = 1
_STORE_PREFIX = "hyperscan-"  # of every key the engine keeps in a CompiledStore


def _store_key(hyperscan: Any, rule_exprs: dict[int, bytes], kw_exprs: list[tuple[bytes, int]], base: int,
               lit: int) -> str:
    """What the compiled database depends on: every expression with its id and flags, the hyperscan binding
    (its version fixes the library's serialisation format) and the machine. A database from another CPU that
    still loads is caught by the probe scan in _load."""
    h = hashlib.sha256()
    h.update(msgspec.json.encode([_STORE_FORMAT, str(getattr(hyperscan, "__version__", "")), os.uname().machine,
                                  base, lit, sorted(rule_exprs)]))
    for i in sorted(rule_exprs):
        h.update(b"\0r%d\0" % i + rule_exprs[i])
    for p, j in kw_exprs:
        h.update(b"\0k%d\0" % j + p)
    return _STORE_PREFIX + h.hexdigest()


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


class _Raw(msgspec.Struct, frozen=True):
    rule: _RuleC
    start: int  # match span in the window
    end: int
    s_start: int  # secret span in the window
    s_end: int


def _windows(chunks: Iterable[bytes], size: int, overlap: int) -> Iterator[tuple[bytes, int, int, int, int | None]]:
    """(window, abs offset of window[0], line number of window[0], own_from, own_to or None for the last)."""
    pending = b""
    base = 0
    line = 1
    own_from = 0
    for c in chunks:
        pending = pending + c if pending else bytes(c)
        while len(pending) - own_from >= size + overlap:
            own_to = own_from + size
            yield pending[: own_to + overlap], base, line, own_from, own_to
            cut = own_to - overlap
            line += pending.count(b"\n", 0, cut)
            base += cut
            pending = pending[cut:]
            own_from = overlap
    yield pending, base, line, own_from, None


class SecretScanner:
    def __init__(
        self,
        ruleset: RuleSet,
        backend: str = "auto",
        chunk_size: int = CHUNK_SIZE,
        overlap: int = OVERLAP,
        store: CompiledStore | None = None,
    ) -> None:
        """`store`: where the compiled hyperscan database is kept between runs (None: compiled every time)."""
        self.ruleset = ruleset
        self.rules = _compile_rules(ruleset)
        self.chunk_size = chunk_size
        self.overlap = overlap
        self._choice = backend
        self._store = store
        self._backend: Backend | None = None  # built on first use, or by plan()
        base = builtin()
        self.skip = compile_globs(ruleset.skip_patterns, linear=ruleset.skip_patterns != base.skip_patterns)
        packaged_allows = set(base.allow_rules)
        # An allow rule with a regex is checked on each match (compiled here, a user's for the linear matcher); one
        # with a path alone joins a combined search per file instead of one per rule (the packaged and the user's
        # apart), and is not compiled on its own.
        path_only = [a for a in ruleset.allow_rules if a.path and not a.regex]
        paths = [a.path for a in path_only if not a.keep_high_confidence and a in packaged_allows]
        user_paths = [a.path for a in path_only if not a.keep_high_confidence and a not in packaged_allows]
        # paths where only the high-confidence rules run (Markdown)
        confident_paths = [a.path for a in path_only if a.keep_high_confidence]
        self.confident_only: PathRx | None = (LinearPattern("|".join(_scoped(p) for p in confident_paths))
                                              if confident_paths else None)
        self.not_confident = {r.index for r, src in zip(self.rules, ruleset.rules, strict=True)
                              if src.confidence != "high"}
        self.allow_path: PathRx | None = re.compile("|".join(_scoped(p) for p in paths)) if paths else None
        self.user_allow_path: PathRx | None = (LinearPattern("|".join(_scoped(p) for p in user_paths))
                                               if user_paths else None)
        self.allow_regex = [_allow_c(a, a not in packaged_allows) for a in ruleset.allow_rules if a.regex]
        self.exclude = tuple(_exclude_c(x, True) for b in ruleset.exclude_blocks for x in b.regexes)
        self.path_dependent = [r for r in self.rules if r.path is not None or any(a.path for a in r.allows)]
        self._blocked_now: set[int] = set()

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            choice = self._choice
            if choice == "auto":
                choice = "hyperscan" if hyperscan_available() else "re"
            self._backend = (HyperscanBackend(self.rules, self._store) if choice == "hyperscan"
                             else ReBackend(self.rules))
        return self._backend

    def plan(self, nbytes: int | None) -> None:
        """Choose the backend (with backend="auto", before first use) for about `nbytes` of input (None: unknown).
        Below HYPERSCAN_MIN_BYTES the re backend is used unless the store already holds the compiled database:
        compiling it costs more than scanning that little with re. Both backends find the same secrets."""
        if self._backend is not None or self._choice != "auto" or nbytes == 0:
            return  # nothing to scan: nothing to build (an empty directory does not even import hyperscan)
        if nbytes is not None and nbytes < HYPERSCAN_MIN_BYTES:
            # a store with no database in it (a first run, a fresh --cache-dir): re, without importing hyperscan
            # (its extension module costs more than a small image's secret scan)
            if self._store is not None and self._store.may_hold(_STORE_PREFIX) and hyperscan_available():
                hs = HyperscanBackend(self.rules, self._store, compile=False)
                self._backend = hs if hs.ready else ReBackend(self.rules)
            else:
                self._backend = ReBackend(self.rules)
        _ = self.backend

    def wants(self, path: str) -> bool:
        """False for files the secret scanner never reads (skip-patterns; paths allowed by a path-only rule)."""
        if self.skip is not None and self.skip.match(path):
            return False
        return not any(rx is not None and rx.search(path) for rx in (self.allow_path, self.user_allow_path))

    def scan(self, path: str, data: bytes) -> list[SecretFinding]:
        return self.scan_chunks(path, (data,))

    def scan_chunks(self, path: str, chunks: Iterable[bytes]) -> list[SecretFinding]:
        if not self.rules or not self.wants(path):
            return []
        if path.endswith(".pyc"):
            # Trivy: compiled Python is binary but its string constants are worth scanning.
            blob = b"".join(chunks)
            chunks = (b"\n".join(_printable().findall(blob)),)
        blocked = {r.index for r in self.path_dependent if not self._rule_applies(r, path)}
        if self.confident_only is not None and self.confident_only.search(path):
            blocked |= self.not_confident
        self._blocked_now = blocked
        findings: list[SecretFinding] = []
        first = True
        for buf, base, line0, own_from, own_to in _windows(chunks, self.chunk_size, self.overlap):
            if first:
                first = False
                if len(buf) < MIN_SIZE or b"\x00" in buf[:BINARY_PROBE]:
                    return []
            try:
                findings.extend(self._scan_window(path, buf, base, line0, own_from, own_to, blocked))
            except BudgetExceeded as e:  # a user's exclude-block or allow regex on this window
                log.warning("secret scan of %s stopped early: a regex from the secret config %s", path, e)
                break
        return findings

    def _rule_applies(self, r: _RuleC, path: str) -> bool:
        if r.path is not None and not r.path.search(path):
            return False
        return not any(a.path is not None and a.regex is None and a.path.search(path) for a in r.allows)

    def _allowed(self, r: _RuleC, path: str, whole: bytes, secret: bytes) -> bool:
        for a in (*r.allows, *self.allow_regex):
            if a.regex is None or not a.regex.search(secret if a.on_secret else whole):
                continue
            if a.path is None or a.path.search(path):
                return True
        return False

    def _scan_window(
        self, path: str, buf: bytes, base: int, line0: int, own_from: int, own_to: int | None, blocked: set[int]
    ) -> list[SecretFinding]:
        cands = self.backend.candidates(buf)
        if not cands:
            return []
        raws: list[_Raw] = []
        excl: list[list[tuple[int, int]]] = []
        for i in sorted(cands):
            if i in blocked:
                continue
            r = self.rules[i]
            try:
                raws.extend(self._rule_matches(r, path, buf, own_from, own_to, excl))
            except BudgetExceeded as e:
                log.warning("secret rule %s skipped for %s: its regex %s", r.id, path, e)
        if not raws:
            return []
        # the same secret span found by two rules (a paired AWS key also named aws_secret_access_key) is one finding:
        # the rule listed first reports it
        seen: dict[tuple[int, int], _Raw] = {}
        for w in raws:
            k = (w.s_start, w.s_end)
            if k not in seen or w.rule.index < seen[k].rule.index:
                seen[k] = w
        raws = list(seen.values())
        masked = bytearray(buf)
        for w in raws:
            masked[w.s_start : w.s_end] = _not_newline().sub(b"*", buf[w.s_start : w.s_end])
        out = []
        for w in sorted(raws, key=lambda w: (w.start, w.rule.index)):
            out.append(self._finding(buf, bytes(masked), base, line0, w))
        return out

    def _finditer(self, r: _RuleC, path: str, buf: bytes, own_from: int) -> Iterator[Any]:
        """The rule's matches from `own_from` on; a `near` rule's only around its anchor rule's matches (searched
        there alone, so a costly pattern never runs over the whole window)."""
        if r.near is None:
            yield from r.rx.finditer(buf, own_from)
            return
        if r.near < 0:
            return
        anchor = self.rules[r.near]
        if r.near in self._blocked_now:
            return
        seen: set[int] = set()
        found = []
        for a in anchor.rx.finditer(buf):
            lo, hi = max(own_from, a.start() - r.near_distance), min(len(buf), a.end() + r.near_distance)
            hits = (r.rx.finditer(buf, lo) if isinstance(r.rx, LinearPattern)  # (no end bound: stop by hand)
                    else r.rx.finditer(buf, lo, hi))
            for m in hits:
                if m.start() >= hi:
                    break
                if m.start() not in seen:
                    seen.add(m.start())
                    found.append(m)
        yield from sorted(found, key=lambda m: m.start())

    def _rule_matches(self, r: _RuleC, path: str, buf: bytes, own_from: int, own_to: int | None,
                      excl: list[list[tuple[int, int]]]) -> list[_Raw]:
        """One rule's matches owned by this window, after allow rules and exclude blocks. `excl` caches the
        global exclude-block spans of the window (computed once, when a rule first needs them)."""
        raws: list[_Raw] = []
        for m in self._finditer(r, path, buf, own_from):
            st = m.start()
            if own_to is not None and st >= own_to:
                break
            secrets: list[tuple[int, int]] = []
            for g in r.groups:
                if m.start(g) != -1:
                    secrets.append(m.span(g))
                    break
            else:
                secrets.append(m.span())
            secrets.extend(m.span(g) for g in r.extra_groups if m.start(g) != -1)
            for ss, se in secrets:
                if se <= ss or self._allowed(r, path, buf[st:m.end()], buf[ss:se]):
                    continue
                if self.exclude or r.exclude:
                    if not excl:
                        excl.append([x.span() for rx in self.exclude for x in rx.finditer(buf)])
                    spans = excl[0] + [x.span() for rx in r.exclude for x in rx.finditer(buf)]
                    if any(a <= ss and se <= b for a, b in spans):
                        continue
                raws.append(_Raw(r, st, m.end(), ss, se))
        return raws

    @staticmethod
    def _finding(buf: bytes, masked: bytes, base: int, line0: int, w: _Raw) -> SecretFinding:
        """The finding at the SECRET's span (a PEM key's body, not its BEGIN line), shown as Trivy shows it: `Match`
        is the secret's first line, or on a line longer than MAX_LINE the secret with 30 bytes before and 20
        after; `Code` is CONTEXT_LINES lines before the secret, its lines and one line after, long lines cut the
        same way. Everything shown comes from the masked copy of the window."""
        s, e = w.s_start, w.s_end
        start_line = line0 + buf.count(b"\n", 0, s)
        end_line = start_line + buf.count(b"\n", s, e)
        ls = buf.rfind(b"\n", 0, s) + 1
        le = buf.find(b"\n", s)
        le = len(buf) if le == -1 else le
        if le - ls > MAX_LINE:
            ls, le = max(ls, s - 30), min(le, e + 20)
        match = _conceal(_text(masked[ls:le]))
        first_off = buf.rfind(b"\n", 0, s) + 1
        first = start_line
        for _ in range(CONTEXT_LINES):
            if first_off == 0:
                break
            first_off = buf.rfind(b"\n", 0, first_off - 1) + 1
            first -= 1
        last_off = buf.find(b"\n", e)
        if last_off != -1:
            nxt = buf.find(b"\n", last_off + 1)
            last_off = len(buf) if nxt == -1 else nxt
        else:
            last_off = len(buf)
        code = []
        for n, raw in enumerate(masked[first_off:last_off].split(b"\n"), first):
            is_cause = start_line <= n <= end_line
            cut = len(raw) > MAX_LINE
            text = match if (cut and is_cause) else _conceal(_text(raw[:MAX_LINE] if cut else raw))
            code.append(CodeLine(number=n, content=text, is_cause=is_cause, truncated=cut))
        return SecretFinding(
            rule_id=w.rule.id,
            category=w.rule.category,
            severity=w.rule.severity,
            title=w.rule.title,
            start_line=start_line,
            end_line=end_line,
            match=match,
            code=Code(lines=tuple(code)),
            offset=base + s,
        )


# Context shown with a finding must not leak a secret that no rule matched (a password beside the AWS key that was
# found). Beyond the rules' own spans, displayed lines hide (a) values assigned to secret-sounding names and (b)
# random-looking tokens: 20+ characters with at least two each of upper case, lower case and digits (keys, hashes in
# base64), which identifiers and prose rarely are.
@cache
def _conceal_rx() -> re.Pattern[str]:
    return re.compile(
        r"""(?i:passw(?:or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth"""
        r"""|pwd)[\w.-]*["']?\s*(?::=|=>|[:=])\s*["']?(?P<v>[^\s"'<>,;{}()\[\]*$]{4,})"""
        r"""|(?<![\w+/-])(?P<t>(?=(?:[\w+/-]*?[0-9]){2})(?=(?:[\w+/-]*?[a-z]){2})(?=(?:[\w+/-]*?[A-Z]){2})"""
        r"""[A-Za-z0-9_+/-]{20,}={0,2})(?![\w+/=-])"""
    )


def _conceal(text: str) -> str:
    def star(m: re.Match[str]) -> str:
        g = "v" if m.group("v") is not None else "t"
        a, b = m.start(g) - m.start(), m.end(g) - m.start()
        whole = m.group(0)
        return whole[:a] + "*" * (b - a) + whole[b:]

    return _conceal_rx().sub(star, text) if text else text


def _text(raw: bytes) -> str:
    """Display text of a line: carriage returns dropped (CRLF files), invalid UTF-8 replaced."""
    # one replacement character per run of invalid bytes, as Go's strings.ToValidUTF8 (Trivy) writes it
    return _replacements().sub("\ufffd", raw.replace(b"\r", b"").decode("utf-8", "replace"))


def _scoped(rx: str) -> str:
    """A regex as an alternative of a combined one: a leading global flag group (?i) becomes a scoped (?i:...)."""
    m = re.match(r"\(\?([aiLmsux]+)\)", rx)
    return f"(?{m.group(1)}:{rx[m.end():]})" if m else f"(?:{rx})"
