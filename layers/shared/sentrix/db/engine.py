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


def build_engine(url: URL | str, *, pool_size: int = 2, connect_timeout: int = 5, ssl: bool = False) -> Engine:
    """A small pool with pre-ping: one Lambda environment handles one request at a time."""
    connect_args: dict = {"timeout": connect_timeout, "application_name": "sentrix"}
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
    )
    event.listen(engine, "connect", _set_utc)
    return engine


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
    return build_engine(
        url, pool_size=settings.db_pool_size, connect_timeout=settings.db_connect_timeout_s, ssl=use_ssl
    )


@functools.cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def reset_engine() -> None:
    """Dispose the cached engine (tests, and after the database URL changes)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error; connection loss becomes transient."""
    session = (factory or _session_factory())()
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
