"""Engine and transaction factory: a SQLite file by default, PostgreSQL via OSTEOTWIN_DATABASE_URL.

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing
on a lock upgrade. Every write is one transaction (:meth:`Database.transaction`): it commits
at the end or rolls back on any exception, so a crash mid-request leaves the database as it was.
Pure reads use :meth:`Database.read`: on SQLite a deferred ``BEGIN``, so readers never queue on
the write lock (WAL lets them read while one writer writes).

Both engines are created with ``hide_parameters=True``: an error's text (and so any log line or
traceback that quotes it) never contains the SQL parameters, which can be names or birth dates.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL_ENV = "OSTEOTWIN_DATABASE_URL"
DATA_DIR_ENV = "OSTEOTWIN_DATA_DIR"
SQLITE_BUSY_TIMEOUT_MS = 30_000  # ours: long enough for 20+ queued writers on a slow disk
# Execution option that marks a read-only engine: its transactions begin with a deferred BEGIN.
DEFERRED_BEGIN_OPTION = "osteotwin_deferred_begin"


def default_sqlite_path() -> Path:
    """``$OSTEOTWIN_DATA_DIR/osteotwin.sqlite3``, else ``~/.local/share/osteotwin/osteotwin.sqlite3``."""
    base = os.environ.get(DATA_DIR_ENV)
    if base:
        return Path(base) / "osteotwin.sqlite3"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "osteotwin" / "osteotwin.sqlite3"


def database_url(explicit: str | None = None) -> str:
    """The URL to use: explicit argument, then OSTEOTWIN_DATABASE_URL, then the SQLite default."""
    if explicit:
        return explicit
    env = os.environ.get(DATABASE_URL_ENV)
    if env:
        return env
    return f"sqlite:///{default_sqlite_path()}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        deferred = connection.get_execution_options().get(DEFERRED_BEGIN_OPTION, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create the engine for ``url`` (see :func:`database_url`); makes the SQLite directory."""
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=kwargs.pop("pool_size", 20),
            max_overflow=kwargs.pop("max_overflow", 40),
            hide_parameters=True,
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=kwargs.pop("pool_size", 10),
        max_overflow=kwargs.pop("max_overflow", 20),
        pool_pre_ping=True,
        hide_parameters=True,
        **kwargs,
    )


class Database:
    """One engine plus a session factory; the unit the web app and the CLI share."""

    def __init__(self, url: str | None = None, *, migrate: bool = True, **engine_kwargs) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.engine.execution_options(**{DEFERRED_BEGIN_OPTION: True}),
                                          expire_on_commit=False)
        if migrate:
            self.upgrade()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (creates it on first start)."""
        from osteotwin.records.migrate import upgrade_to_head

        upgrade_to_head(self.engine)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (rolled back at the end). On SQLite it begins deferred, so it
        does not take the write lock and never waits for a writer."""
        with self.read_sessions() as session:  # closing the session rolls the transaction back
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
