"""The DB's error type, apart from vigil.vulndb.store so that the step that checks a DB is there (dbdist.update,
run by every scan) does not load the query API, its records and their decoders: a rescan whose report is kept never
queries the DB."""

from __future__ import annotations

from vigil.errors import UserError


class DBError(UserError):
    """The DB is missing, corrupt or of an unsupported schema. The message tells the user what to do."""
