"""Two small network facts every HTTP user of Vigil needs the same way: whether a host is this machine, and what a
TLS client should verify with."""

from __future__ import annotations

import ipaddress
import ssl


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address, optionally with :port, IPv6 in brackets) is this machine: traffic to it
    never leaves the host, so plain http there cannot be tampered with."""
    h = host.strip()
    if h.startswith("["):
        h = h[1:].split("]", 1)[0]
    elif h.count(":") == 1:
        h = h.rsplit(":", 1)[0]
    h = h.lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def tls_verify(insecure: bool, ca_file: str) -> bool | ssl.SSLContext:
    """httpx's `verify`: False with insecure, a context trusting `ca_file` when given, else the system store.
    Raises OSError or ssl.SSLError for a CA file that cannot be loaded (the caller names the flag)."""
    if insecure:
        return False
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    return True
