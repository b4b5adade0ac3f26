"""`vigil server`: hold the vulnerability DB and a shared blob cache; clients (`--server URL`) analyse locally and
detect here (Trivy's client/server mode, trivy-cli.md §9).

    vigil server --listen 0.0.0.0:4954 --token-file /run/secrets/token    # one token per line, one tenant each
    vigil server --listen 127.0.0.1:4954 --cache-backend redis://redis:6379/0 --tls-cert c.pem --tls-key k.pem
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vigil.net import is_loopback
from vigil.shells.cli.common import (
    ScanCommand,
    add_options,
    cache_backend_url,
    fail,
    read_tokens,
    resolve_or_exit,
)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid --listen {text!r} (expected HOST:PORT, e.g. 0.0.0.0:4954)")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)




def open_store_service(values: dict[str, Any], cache_dir: Path, tokens: tuple[str, ...], header: str) -> Any:
    """The report store and who may use it, or None with --store none."""
    url = str(values.get("store") or "")
    if url == "none":
        return None
    from vigil.shells.server.notify import Notifier, Webhook
    from vigil.shells.server.store_api import StoreService
    from vigil.store import Store, StoreError

    try:
        read_tokens = read_tokens_of(values)
    except ValueError as e:
        fail(str(e))
    retention = int(values.get("store_retention_days") or 90)
    if retention < 1:
        fail("--store-retention-days must be 1 or more")
    from vigil.settings import SettingsError, parse_duration

    try:
        prune_interval = parse_duration(str(values.get("store_prune_interval") or "1h"))
    except (ValueError, SettingsError) as e:
        fail(f"--store-prune-interval: {e}")
    if prune_interval < 0:
        fail("--store-prune-interval must be 0 or more")
    user_header = str(values.get("auth_proxy_user_header") or "")
    groups_header = str(values.get("auth_proxy_groups_header") or "X-Forwarded-Groups")
    for h in (user_header, groups_header):
        if h and not all(c.isalnum() or c in "-_" for c in h):
            fail(f"invalid header name {h!r} (letters, digits, '-' and '_')")
    read_groups = frozenset(values.get("auth_proxy_read_groups") or ())
    write_groups = frozenset(values.get("auth_proxy_write_groups") or ())
    if user_header and not (read_groups or write_groups):
        fail("--auth-proxy-user-header needs --auth-proxy-read-groups or --auth-proxy-write-groups")
    try:
        store = Store(url or f"sqlite:///{cache_dir / 'store' / 'store.db'}", retention_days=retention)
    except StoreError as e:
        fail(str(e))
    hooks = [Webhook("json", str(u)) for u in values.get("webhook") or ()] + [
        Webhook("slack", str(u)) for u in values.get("slack_webhook") or ()]
    for hook in hooks:
        if not hook.url.startswith(("http://", "https://")):
            store.close()
            fail(f"invalid webhook URL {hook.url!r} (http:// or https://)")
    return StoreService(store=store, write_tokens=tokens, read_tokens=read_tokens, token_header=header,
                        proxy_user_header=user_header, proxy_groups_header=groups_header if user_header else "",
                        proxy_read_groups=read_groups, proxy_write_groups=write_groups,
                        notifier=Notifier(store, hooks) if hooks else None, prune_interval=prune_interval)


def read_tokens_of(values: dict[str, Any]) -> tuple[str, ...]:
    path = values.get("read_only_token_file")
    return read_tokens(path) if path else ()


@click.command("server", cls=ScanCommand, context_settings={"show_default": False})
@add_options("server")
def server_cmd(**kwargs: Any) -> None:
    """Serve detection and a shared analysis cache to `vigil ... --server URL` clients."""
    values = resolve_or_exit("server", kwargs)
    if values.get("download_db_only"):  # as the scan commands: download or update the DB, then exit
        from vigil.shells.cli.output import db_ready

        db_ready(values)
        return
    from vigil.settings import SettingsError, default_cache_dir, parse_duration, parse_size, registry_auth
    from vigil.shells.server.state import MAX_BLOB_BYTES

    try:
        host, port = parse_listen(values["listen"])
        tokens = read_tokens(values["token_file"]) if values.get("token_file") else ()
        if values.get("token"):  # Trivy's --token: the one token every client sends
            if tokens:
                raise ValueError("give the clients' token once: --token (or TRIVY_TOKEN/VIGIL_TOKEN) or --token-file")
            tokens = (str(values["token"]).strip(),)
            if not tokens[0].isascii() or not tokens[0].isprintable():
                raise ValueError("--token must be printable ASCII (it travels in an HTTP header)")
        interval = parse_duration(str(values.get("db_update_interval") or "1h"))
        ttl = parse_duration(str(values.get("cache_ttl") or "0"))
        header_timeout = parse_duration(str(values.get("header_timeout") or "10s"))
        body_timeout = parse_duration(str(values.get("body_timeout") or "30s"))
        memory_bytes = parse_size(str(values.get("cache_memory_size") or "256MiB"))
    except (ValueError, SettingsError) as e:
        fail(str(e))
    max_connections = int(values.get("max_connections") or 0)
    if header_timeout <= 0 or body_timeout <= 0 or max_connections < 0:
        fail("--header-timeout and --body-timeout must be above 0, --max-connections 0 or more")
    if memory_bytes < MAX_BLOB_BYTES:  # an upload the memory cache cannot keep could never be scanned
        fail(f"--cache-memory-size must be at least {MAX_BLOB_BYTES >> 20}MiB (the largest upload)")
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
    backend = cache_backend_url(values)
    if backend == "none":
        fail("the server needs a blob cache: --cache-backend fs, memory or redis://HOST:PORT")

    from vigil.cache import CacheError, open_cache
    from vigil.shells.server.state import ServerState

    try:
        cache = open_cache(backend, cache_dir, ttl, memory_bytes)
    except CacheError as e:
        fail(str(e))
    store_service = open_store_service(values, cache_dir, tokens, header)
    state = ServerState(db_path=db_path, cache=cache, token=tokens[0] if tokens else "", more_tokens=tokens[1:],
                        store_service=store_service,
                        token_header=header,
                        db_repositories=tuple(values.get("db_repository") or ()),
                        db_registry=registry_auth(values),
                        skip_db_update=bool(values.get("skip_db_update")), update_interval=interval)
    if state.db_info() is None:  # missing, damaged or of another schema: download one (as a scan would)
        state.refresh_db(force=True)
    if state.db_info() is None:
        cache.close()
        fail(f"no usable vulnerability DB at {db_path}: build one with 'vigil db build' or give --db-repository")
    import uvicorn

    from vigil.shells.server.app import create_app
    from vigil.shells.server.connections import (
        ConnectionLimits,
        listen_socket,
        quiet_flooding_loggers,
        raise_fd_limit,
        uvicorn_config,
    )

    raise_fd_limit()  # before the connection limit is derived from it
    limits = ConnectionLimits(header_timeout=header_timeout, body_timeout=body_timeout,
                              max_connections=max_connections)
    config = uvicorn_config(create_app(state), limits,
                            lambda reason: state.metrics.connections_closed.labels(reason).inc(),
                            ssl_certfile=str(cert) if cert else None, ssl_keyfile=str(key) if key else None,
                            log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    quiet_flooding_loggers()
    try:  # the TLS context now, so a bad certificate or key fails before anything says "listening"
        config.load()
    except (OSError, ValueError) as e:
        state.close()
        fail(f"cannot use the TLS certificate and key: {getattr(e, 'strerror', None) or e}")
    # Bound here, not by uvicorn: a port in use is one line and exit 2 (uvicorn logs and exits 3 itself), and
    # "listening" is printed only once it is true.
    try:
        sock = listen_socket(host, port)
    except OSError as e:
        state.close()
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    state.start_refresh()
    if store_service is not None:
        store_service.start_pruning()
    scheme = "https" if cert else "http"
    if not values.get("quiet"):
        click.echo(f"vigil server listening on {scheme}://{host}:{port} (DB {db_path}, cache {backend.split('@')[-1]})",
                   err=True)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except OSError as e:
        fail(f"cannot serve on {host}:{port}: {e.strerror or e}")
    finally:
        state.close()
        sock.close()
    sys.exit(0)
