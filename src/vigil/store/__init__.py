"""The report store behind `vigil server`: targets, their scans and full reports, findings tracked over time
(first seen, last seen, fixed at), daily roll-ups. Written by the server's publish endpoint (CI `--publish`, the
operator, `vigil k8s`); read by its API and web UI. SQLite (WAL) or PostgreSQL through SQLAlchemy Core, schema
managed by the alembic migrations in migrations/."""

from vigil.store.engine import Gone, NotFound, StoreError
from vigil.store.records import PublishRequest, PublishResult, TargetSpec
from vigil.store.store import Store, identify

__all__ = ["Gone", "NotFound", "PublishRequest", "PublishResult", "Store", "StoreError", "TargetSpec", "identify"]
