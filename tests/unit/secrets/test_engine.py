"""Engine mechanics: chunk windows, binaries, skip patterns, allow rules, .pyc, digest, fuzzing."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.analyzers.secrets import rules
from vigil.analyzers.secrets.engine import SecretScanner, hyperscan_available

BACKENDS = ["re", pytest.param("hyperscan", marks=pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan"))]
TOKEN = "ghp_" + "Zq8xY2wV" * 4 + "AbCd"  # github-pat shape (fake)


@pytest.mark.parametrize("backend", BACKENDS)
def test_secret_straddling_a_chunk_boundary_is_found_once(backend: str) -> None:
    sc = SecretScanner(rules.builtin(), backend, chunk_size=256, overlap=64)
    whole = SecretScanner(rules.builtin(), backend)
    for pos in range(200, 300, 3):  # token starts before, across and after the 256-byte boundary
        data = (b"x = 1\n" * 100)[:pos] + b"\ntok=" + TOKEN.encode() + b"\n" + b"y = 2\n" * 100
        got = sc.scan("a.env", data)
        assert [f.rule_id for f in got] == ["github-pat"], pos
        ref = whole.scan("a.env", data)
        assert (got[0].start_line, got[0].offset) == (ref[0].start_line, ref[0].offset)


@pytest.mark.parametrize("backend", BACKENDS)
def test_streamed_chunks_of_any_size_give_the_same_findings(backend: str) -> None:
    data = ("\n".join(f"line {i}" for i in range(3000)) + f"\nTOKEN={TOKEN}\n" + "z\n" * 500).encode()
    sc = SecretScanner(rules.builtin(), backend, chunk_size=1024, overlap=128)
    ref = msgspec.json.encode(SecretScanner(rules.builtin(), backend).scan("a", data))
    for step in (1000, 4096, 7777, len(data)):
        parts = [data[i : i + step] for i in range(0, len(data), step)]
        assert msgspec.json.encode(sc.scan_chunks("a", parts)) == ref


def test_many_secrets_across_many_windows() -> None:
    lines = [f"k{i}={TOKEN[:-4]}{i:04d}" if i % 50 == 0 else f"filler {i}" for i in range(5000)]
    data = "\n".join(lines).encode()
    small = SecretScanner(rules.builtin(), chunk_size=2048, overlap=256).scan("f", data)
    big = SecretScanner(rules.builtin()).scan("f", data)
    assert len(big) == 100
    assert [(f.start_line, f.offset) for f in small] == [(f.start_line, f.offset) for f in big]
    assert [f.start_line for f in big] == [i + 1 for i in range(0, 5000, 50)]


def test_binary_files_are_skipped() -> None:
    sc = SecretScanner(rules.builtin())
    assert sc.scan("blob.dat", b"\x00\x01\x02" + f"tok={TOKEN}\n".encode()) == []
    assert sc.scan("tiny", b"ghp_") == []


def test_pyc_string_constants_are_scanned() -> None:
    data = b"\x00\x0d\r\n\x00\x00\x00\x00" + b"\xe3\x00\x00\x00" + f"tok={TOKEN}".encode() + b"\x00\x01"
    got = SecretScanner(rules.builtin()).scan("app/__pycache__/m.cpython-311.pyc", data)
    assert [f.rule_id for f in got] == ["github-pat"]


def test_default_skip_patterns_and_builtin_allow_paths() -> None:
    sc = SecretScanner(rules.builtin())
    for p in ("package-lock.json", "sub/yarn.lock", "go.sum", "a/.git/config", "node_modules/x/index.js",
              "img/logo.png", "tests/fixtures/keys.env", "src/foo_test.go", "examples/app.env", "vendor/lib/x.py"):
        assert not sc.wants(p), p
        assert sc.scan(p, f"tok={TOKEN}\n".encode()) == []
    # docs/ trees are scanned (as in Trivy: deployment guides hold real keys too)
    for p in (".env", "src/app/config.py", "deploy/values.yaml", "docs/setup.txt"):
        assert sc.wants(p), p


def test_markdown_runs_only_the_high_confidence_rules() -> None:
    """A token pasted into a README is a real leak; the keyword-and-assignment rules would flag every example in
    the prose, so Markdown gets only the rules whose token format is unmistakable. Trivy skips Markdown."""
    sc = SecretScanner(rules.builtin())
    text = (f"# Setup\n\nexport GITHUB_TOKEN={TOKEN}\n\ntwitter_api_secret = 'k2m9x7q4w1e8r5t3y6u0i9o2p5a8s1d4f7g2h'\n"
            "password: hunter2hunter2\n").encode()
    assert sc.wants("README.md")
    assert [f.rule_id for f in sc.scan("README.md", text)] == ["github-pat"]
    assert {f.rule_id for f in sc.scan("notes.txt", text)} == {"github-pat", "twitter-token"}
    assert "twitter-token" not in {r.id for r in rules.builtin().rules if r.confidence == "high"}
    # a config that disables the markdown allow rule scans Markdown with every rule (Trivy's semantics)
    every = SecretScanner(rules.effective(rules.parse_config(b"disable-allow-rules: [markdown]\n")))
    assert {f.rule_id for f in every.scan("README.md", text)} == {"github-pat", "twitter-token"}


def test_placeholder_values_are_allowed() -> None:
    sc = SecretScanner(rules.builtin())
    for v in ("AKIAXXXXXXXXXXXXXXXX", "AKIAIOSFODNN7EXAMPLE", "ghp_" + "x" * 36):
        assert sc.scan("c.env", f"KEY={v}\n".encode()) == [], v


def test_digest_is_stable_and_changes_with_the_rules() -> None:
    d = rules.builtin().digest()
    assert d.startswith("sha256:") and len(d) == 71
    assert rules.effective(None).digest() == d
    cfg = rules.parse_config(b"disable-rules: [jwt-token]\n")
    assert rules.effective(cfg).digest() != d


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from(["a.env", "x.pyc", "k.xml", "deep/dir/f.txt"]))
def test_engine_never_raises_on_arbitrary_bytes(data: bytes, path: str) -> None:
    for sc in _SCANNERS:
        sc.scan(path, data)
        sc.scan_chunks(path, [data[: len(data) // 2], data[len(data) // 2 :]])


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=0x7E), max_size=2000))
def test_backends_agree_on_arbitrary_text(text: str) -> None:
    if len(_SCANNERS) < 2:
        return
    data = (text + f"\nK={TOKEN}\n" + text).encode()
    a, b = (msgspec.json.encode(sc.scan("f.env", data)) for sc in _SCANNERS)
    assert a == b


_SCANNERS = [SecretScanner(rules.builtin(), "re", chunk_size=512, overlap=128)] + (
    [SecretScanner(rules.builtin(), "hyperscan", chunk_size=512, overlap=128)] if hyperscan_available() else []
)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        # GitHub App installation token in the stateless format (ghs_<id>_<JWT>)
        ("GITHUB_TOKEN=ghs_15368_eyJk3mQ9xV2LpR7tW4sZ8bN1cH6fJ0aY5.eyJq8Lm2Xv7Rt4Wp9Sz3Bn6Ch1Fj5Ay0Gk.Qm4Xr8Tv2Wz6Lp0Sn9\n",
         "github-app-token"),
        # GoCardless live token without a key name, inside quotes
        ("client = Client(access_token='live_" + "Tq8Zr3Wm5Xp1Ls7Kv9Nb2Jd4Hf6Gc0Ya8Re3Uo5I" + "')\n", "gocardless-api-token"),
        # Hugging Face token with digits
        ("HF = hf_Tq8Zr3Wm5Xp1Ls7Kv9Nb2Jd4Hf6Gc0Ya8Re3\n", "hugging-face-access-token"),
        # AWS secret key after its name with no '=' (a Dockerfile ENV)
        ("ENV AWS_SECRET_ACCESS_KEY Tz8bW2kQ9xLm4Rv7Yp1sN6cH3jF0dG5aE8uI2oK7\n", "aws-secret-access-key"),
    ],
)
def test_tokens_trivy_finds(text: str, rule: str) -> None:
    found = SecretScanner(rules.builtin()).scan("app.txt", text.encode())
    assert [f.rule_id for f in found] == [rule]
