"""The scan commands' (fs, image, rootfs, sbom) one call into DB distribution, from resolved settings values.

    from vigil.dbdist.cli_hook import DBPrepareError, prepare_db

    try:
        if prepare_db(values) is None:
            return  # --download-db-only: done
    except DBPrepareError as e:
        fail(str(e))

prepare_db returns the same path vigil.settings.scan_options derives (--db-path or <cache-dir>/db/vigil.db).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vigil.dbdist.update import ensure_db
from vigil.errors import UserError
from vigil.vulndb.schema import DB_FILENAME
from vigil.vulndb.store import DBError

log = logging.getLogger(__name__)


class DBPrepareError(UserError):
    """One line for the user (exit 2)."""


def _cache_dir(values: Mapping[str, Any]) -> Path:
    # Same default as vigil.settings.default_cache_dir (settings is a layer above dbdist).
    if values.get("cache_dir"):
        return Path(values["cache_dir"])
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "vigil"


def db_path_of(values: Mapping[str, Any]) -> Path:
    return Path(values["db_path"]) if values.get("db_path") else _cache_dir(values) / "db" / DB_FILENAME


def repositories_of(values: Mapping[str, Any]) -> list[str]:
    raw = values.get("db_repository") or ()
    items = [raw] if isinstance(raw, str) else list(raw)
    return [r.strip() for item in items for r in str(item).split(",") if r.strip()]


def prepare_db(values: Mapping[str, Any]) -> Path | None:
    """Make the DB available for a scan: returns its path, or None after --download-db-only (the command should
    exit 0 without scanning). Raises DBPrepareError."""
    download_only = bool(values.get("download_db_only"))
    offline = bool(values.get("offline_scan"))
    skip = bool(values.get("skip_db_update")) or offline
    if download_only and skip:
        raise DBPrepareError("--download-db-only cannot be combined with --skip-db-update or --offline-scan")
    db_path = db_path_of(values)
    if download_only and not repositories_of(values):  # nothing to download from: say so, never a silent exit 0
        raise DBPrepareError("--download-db-only needs --db-repository oci://HOST/REPO:TAG or https://HOST/DIR/ "
                             "(or db.repository in the config file)")
    scanners = values.get("scanners")
    if not download_only and (values.get("server") or (scanners is not None and "vuln" not in scanners)):
        return db_path  # client mode (the server matches) or no vulnerability scanning: no local DB needed
    progress = not values.get("quiet") and sys.stderr.isatty()
    try:
        res = ensure_db(db_path, repositories_of(values), skip_update=skip, offline=offline, force=download_only,
                        progress=progress)
    except DBError as e:
        raise DBPrepareError(str(e)) from None
    except OSError as e:
        raise DBPrepareError(f"cannot update the DB in {db_path.parent}: {e.strerror or e}") from None
    return None if download_only else res.db_path
