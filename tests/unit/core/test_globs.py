import pytest

from vigil.sources.globs import glob_match


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("node_modules", "node_modules", True),
        ("node_modules", "a/b/node_modules", True),
        ("node_modules", "a/node_modules_x", False),
        ("**/testdata", "x/y/testdata", True),
        ("**/testdata", "testdata", True),
        ("src/*/fixtures", "src/a/fixtures", True),
        ("src/*/fixtures", "src/a/b/fixtures", False),
        ("src/**/fixtures", "src/a/b/fixtures", True),
        ("./build", "build", True),
        ("build/", "build", True),
        ("*.lock", "deep/dir/poetry.lock", True),
        ("requirements-?.txt", "requirements-a.txt", True),
        ("[ab].txt", "a.txt", True),
        ("[!ab].txt", "a.txt", False),
    ],
)
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected
