"""`vigil server`: hold the vulnerability DB and a shared blob cache; clients (`--server URL`) analyse locally and
detect here (Trivy's client/server mode, trivy-cli.md §9).

    vigil server --listen 0.0.0.0:4954 --token-file /run/secrets/token    # one token per line, one tenant each
    vigil server --listen 127.0.0.1:4954 --cache-backend redis://redis:6379/0 --tls-cert c.pem --tls-key k.pem
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import add_options, fail, resolve_or_exit


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid --listen {text!r} (expected HOST:PORT, e.g. 0.0.0.0:4954)")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_tokens(path: Path) -> tuple[str, ...]:
    """The tokens clients may send, one per line (blank lines skipped). Each token is a tenant of its own: the
    image layer analyses a client uploads are served only to clients sending the same token."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read token file {path}: {getattr(e, 'strerror', None) or e}") from e
    tokens = tuple(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not tokens:
        raise ValueError(f"token file {path} is empty")
    if not all(t.isprintable() and t.isascii() for t in tokens):
        # HTTP header values are ASCII: a token outside it could never be sent by a client
        raise ValueError(f"token file {path} must hold tokens of printable ASCII characters, one per line")
    return tokens


@click.command("server", context_settings={"show_default": False})
@add_options("server")
def server_cmd(**kwargs: Any) -> None:
    """Serve detection and a shared analysis cache to `vigil ... --server URL` clients."""
    values = resolve_or_exit("server", kwargs)
    from vigil.settings import SettingsError, default_cache_dir, parse_duration

    try:
        host, port = parse_listen(values["listen"])
        tokens = read_tokens(values["token_file"]) if values.get("token_file") else ()
        interval = parse_duration(str(values.get("db_update_interval") or "1h"))
        ttl = parse_duration(str(values.get("cache_ttl") or "0"))
    except (ValueError, SettingsError) as e:
        fail(str(e))
    if not tokens and not is_loopback(host) and not values.get("insecure_no_auth"):
        fail(f"refusing to listen on {host}:{port} without a token: give --token-file FILE "
             "(or --insecure-no-auth to run unauthenticated)")
    cert, key = values.get("tls_cert"), values.get("tls_key")
    if bool(cert) != bool(key):
        fail("give both --tls-cert and --tls-key (or neither)")
    for p in (cert, key):
        if p is not None and not Path(p).is_file():
            fail(f"TLS file {p} not found")
    header = values.get("token_header") or "Vigil-Token"
    if not all(c.isalnum() or c in "-_" for c in header):
        fail(f"invalid --token-header {header!r} (letters, digits, '-' and '_')")
    cache_dir: Path = values.get("cache_dir") or default_cache_dir()
    db_path: Path = values.get("db_path") or cache_dir / "db" / "vigil.db"
    backend = str(values.get("cache_backend") or "fs")
    if backend == "none":
        fail("the server needs a blob cache: --cache-backend fs, memory or redis://HOST:PORT")

    from vigil.cache import CacheError, open_cache
    from vigil.shells.server.state import ServerState

    try:
        cache = open_cache(backend, cache_dir, ttl)
    except CacheError as e:
        fail(str(e))
    state = ServerState(db_path=db_path, cache=cache, token=tokens[0] if tokens else "", more_tokens=tokens[1:],
                        token_header=header,
                        db_repositories=tuple(values.get("db_repository") or ()),
                        skip_db_update=bool(values.get("skip_db_update")), update_interval=interval)
    if state.db_info() is None:  # missing, damaged or of another schema: download one (as a scan would)
        state.refresh_db(force=True)
    if state.db_info() is None:
        cache.close()
        fail(f"no usable vulnerability DB at {db_path}: build one with 'vigil db build' or give --db-repository")
    import socket

    # Bound here, not by uvicorn: a port in use is one line and exit 2 (uvicorn logs and exits 3 itself), and
    # "listening" is printed only once it is true.
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as e:
        state.close()
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    state.start_refresh()
    import uvicorn

    from vigil.shells.server.app import create_app

    app = create_app(state)
    scheme = "https" if cert else "http"
    if not values.get("quiet"):
        click.echo(f"vigil server listening on {scheme}://{host}:{port} (DB {db_path}, cache {backend.split('@')[-1]})",
                   err=True)
    config = uvicorn.Config(app, ssl_certfile=str(cert) if cert else None, ssl_keyfile=str(key) if key else None,
                            log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except OSError as e:
        fail(f"cannot serve on {host}:{port}: {e.strerror or e}")
    finally:
        state.close()
        sock.close()
    sys.exit(0)
