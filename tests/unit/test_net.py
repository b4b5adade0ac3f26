"""vigil.net: the one loopback test and TLS-verify choice shared by the registry client, the DB download and the
server client."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from vigil.net import is_loopback, tls_verify


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:5000", "127.0.0.1", "127.1.2.3:443", "::1", "[::1]:5000"])
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1:80", "[2001:db8::1]:443", "127.example.com", ""])
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_tls_verify(tmp_path: Path) -> None:
    assert tls_verify(True, "ignored") is False
    assert tls_verify(False, "") is True
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ssl.SSLError):
        tls_verify(False, str(bad))
    with pytest.raises(OSError):
        tls_verify(False, str(tmp_path / "missing.pem"))
