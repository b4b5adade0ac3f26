"""The scan commands' one call into DB distribution: make the DB a scan needs available (download, update, or
check the one on disk), as --db-repository / --skip-db-update / --offline-scan / --download-db-only say.

    if prepare_db(db_options(values)) is None:
        return  # --download-db-only: done
"""

from __future__ import annotations

from pathlib import Path

from vigil.errors import UserError
from vigil.settings import DBOptions


class DBPrepareError(UserError):
    """One line for the user (exit 2)."""


def prepare_db(opts: DBOptions) -> Path | None:
    """Make the DB available for a scan: returns its path, or None after --download-db-only (the command should
    exit 0 without scanning). Raises DBPrepareError."""
    skip = opts.skip_update or opts.offline
    if opts.download_only and skip:
        raise DBPrepareError("--download-db-only cannot be combined with --skip-db-update or --offline-scan")
    if opts.download_only and not opts.repositories:  # nothing to download from: never a silent exit 0
        raise DBPrepareError("--download-db-only needs --db-repository oci://HOST/REPO:TAG or https://HOST/DIR/ "
                             "(or db.repository in the config file)")
    if not opts.download_only and not opts.needed:
        return opts.db_path  # client mode (the server matches) or no vulnerability scanning: no local DB needed
    # imported past the return above: a scan without the vulnerability scanner needs none of it
    from vigil.dbdist.update import ensure_db
    from vigil.vulndb.errors import DBError

    try:
        res = ensure_db(opts.db_path, list(opts.repositories), skip_update=skip, offline=opts.offline,
                        force=opts.download_only, progress=opts.progress, registry=opts.registry)
    except DBError as e:
        raise DBPrepareError(str(e)) from e
    except OSError as e:
        raise DBPrepareError(f"cannot update the DB in {opts.db_path.parent}: {e.strerror or e}") from e
    return None if opts.download_only else res.db_path
