"""Opening a store: the URL, the engine's dialect settings and the migrations to the newest schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from vigil.errors import UserError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x76696769  # pg_advisory_lock key: two replicas starting at once migrate one after the other


class StoreError(UserError):
    """The store URL is wrong, the database cannot be reached or upgraded, or a query asks for something wrong."""


class NotFound(StoreError):
    """No such target or scan."""


class Gone(StoreError):
    """The scan is older than the report retention: its full report and finding list were dropped."""


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3; a bare path means a SQLite file."""
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_engines(url: str) -> tuple[Engine, Engine]:
    """(writer, reader). SQLite: WAL, a busy timeout, and writes that start with BEGIN IMMEDIATE (a deferred
    transaction that reads then writes can fail with "database is locked" when another writer got in between);
    reads stay deferred so they run beside the writer. PostgreSQL: one pooled engine for both."""
    try:
        u = make_url(normalize_url(url))
    except ArgumentError as e:
        raise StoreError(f"invalid store URL {url!r}: {e}") from e
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(u, immediate=True), _sqlite_engine(u, immediate=False)
    if u.get_backend_name() != "postgresql":
        raise StoreError(f"unsupported store URL {u.render_as_string(hide_password=True)!r} "
                         "(sqlite:///PATH or postgresql://USER@HOST/DB)")
    eng = create_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=5)
    return eng, eng


def _sqlite_engine(u: Any, *, immediate: bool) -> Engine:
    eng = create_engine(u, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(eng, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(eng, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return eng


def _alembic_config(conn: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate in place to `revision` (alembic), holding PostgreSQL's advisory lock so replicas take turns."""
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
        try:
            command.upgrade(_alembic_config(conn), revision)
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    return str(rev) if rev is not None else None
