"""One engine per execution environment, sized for Lambda and friendly to RDS Proxy."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sentrix.config import Settings, get_settings
from sentrix.errors import DependencyUnavailable


def database_url(settings: Settings) -> URL:
    """The SQLAlchemy URL: DATABASE_URL locally, the RDS secret (host overridden by the proxy) in the cloud."""
    if settings.database_url:
        return make_url(settings.database_url)
    if not settings.db_secret_arn:
        raise DependencyUnavailable("Database is not configured (DATABASE_URL or DB_SECRET_ARN)")
    # Imported here: only the cloud path needs Parameters, and it caches the secret for 5 minutes.
    from aws_lambda_powertools.utilities import parameters

    secret = json.loads(parameters.get_secret(settings.db_secret_arn, max_age=300))
    return URL.create(
        "postgresql+pg8000",
        username=secret["username"],
        password=secret["password"],
        host=settings.db_host or secret["host"],
        port=int(secret.get("port", 5432)),
        database=secret.get("dbname", settings.db_name),
    )


def build_engine(
    url: URL | str, *, pool_size: int = 2, socket_timeout: int = 28, ssl: bool = False, autocommit: bool = False
) -> Engine:
    """A small pool with pre-ping: one Lambda environment handles one request at a time."""
    connect_args: dict = {"timeout": socket_timeout, "application_name": "sentrix"}
    if ssl:
        import ssl as ssl_module

        connect_args["ssl_context"] = ssl_module.create_default_context()
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        # RDS Proxy closes idle client connections; recycle before that instead of failing a request.
        pool_recycle=300,
        connect_args=connect_args,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )
    event.listen(engine, "connect", _set_utc)
    _use_simple_protocol_for_control_statements(engine)
    return engine


def _use_simple_protocol_for_control_statements(engine: Engine) -> None:
    """COMMIT, ROLLBACK and the pre-ping in one round trip each instead of three.

    pg8000 sends them through the extended protocol (Parse, Describe, Bind/Execute, each awaited): on a warm
    Lambda the round trips, not the queries, are most of a read's time.
    """
    dialect = engine.dialect

    def do_commit(dbapi_connection) -> None:
        dbapi_connection.execute_simple("COMMIT")

    def do_rollback(dbapi_connection) -> None:
        if dbapi_connection._in_transaction:
            dbapi_connection.execute_simple("ROLLBACK")

    def do_ping(dbapi_connection) -> bool:
        dbapi_connection.execute_simple("SELECT 1")
        return True

    if engine.dialect.driver == "pg8000":
        dialect.do_commit = do_commit
        dialect.do_rollback = do_rollback
        dialect.do_ping = do_ping


def _set_utc(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()


@functools.cache
def get_engine() -> Engine:
    """The engine of this execution environment, built on first use (never at import time)."""
    settings = get_settings()
    url = database_url(settings)
    use_ssl = not settings.database_url  # RDS/RDS Proxy: TLS; the local cluster is loopback only
    return build_engine(url, pool_size=settings.db_pool_size, socket_timeout=settings.db_socket_timeout_s, ssl=use_ssl)


@functools.cache
def get_read_engine() -> Engine:
    """An autocommit engine for single-statement reads: no BEGIN/COMMIT round trips around them.

    Its own pool, so the isolation level is set once per connection and never reset on checkin.
    """
    settings = get_settings()
    return build_engine(
        database_url(settings),
        pool_size=1,
        socket_timeout=settings.db_socket_timeout_s,
        ssl=not settings.database_url,
        autocommit=True,
    )


@functools.cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@functools.cache
def _read_session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_read_engine(), expire_on_commit=False)


def reset_engine() -> None:
    """Dispose the cached engines (tests, and after the database URL changes)."""
    for cached in (get_engine, get_read_engine):
        if cached.cache_info().currsize:
            cached().dispose()
        cached.cache_clear()
    _session_factory.cache_clear()
    _read_session_factory.cache_clear()


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error; connection loss becomes transient.

    `read_only=True` runs each statement in autocommit instead: for reads that need no snapshot across
    statements (one query, or independent ones), it saves the BEGIN and COMMIT round trips.
    """
    session = (factory or (_read_session_factory() if read_only else _session_factory()))()
    try:
        yield session
        session.commit()
    except DBAPIError as exc:
        _safe_rollback(session)
        if isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated:
            raise DependencyUnavailable("Database unavailable") from exc
        raise
    except OSError as exc:
        # pg8000 raises a bare ConnectionResetError/BrokenPipeError when the server goes away mid-COMMIT.
        _safe_rollback(session)
        raise DependencyUnavailable("Database unavailable") from exc
    except BaseException:
        _safe_rollback(session)
        raise
    finally:
        session.close()


def _safe_rollback(session: Session) -> None:
    # On a dead connection the rollback itself fails; the original error is the one worth raising.
    try:
        session.rollback()
    except (DBAPIError, OSError):
        session.invalidate()
