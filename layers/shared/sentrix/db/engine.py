"""One engine per execution environment, sized for Lambda and friendly to RDS Proxy."""

from __future__ import annotations

import collections
import functools
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from sentrix.config import Settings, get_settings
from sentrix.db import budget
from sentrix.errors import DependencyUnavailable, ValidationFailed, sqlstate

if TYPE_CHECKING:  # the ORM is imported by the first session (detect never makes one: cold start, issue 21)
    from sqlalchemy.orm import Session, sessionmaker


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


# Session settings sent in the startup message: applied by the server as the session begins, with no statement
# of ours. A session-level SET would make RDS Proxy pin the client connection to one database connection for
# good (docs/infra.md, "RDS Proxy without pinning"); SET LOCAL inside a transaction does not.
STARTUP_PARAMS = {"TimeZone": "UTC"}
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})

# A pooled connection used less than this many seconds ago is handed out without a ping (see `_ping_when_idle`).
PING_AFTER_IDLE_S = 10.0


def build_engine(
    url: URL | str, *, pool_size: int = 2, socket_timeout: int = 28, ssl: bool = False, autocommit: bool = False
) -> Engine:
    """A small pool that pings connections back from idleness: one Lambda environment handles one request at a time."""
    connect_args: dict = {"timeout": socket_timeout, "application_name": "sentrix", "startup_params": STARTUP_PARAMS}
    if ssl:
        import ssl as ssl_module

        connect_args["ssl_context"] = ssl_module.create_default_context()
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=2,
        # RDS Proxy closes idle client connections; recycle before that instead of failing a request.
        pool_recycle=300,
        connect_args=connect_args,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )
    event.listen(engine, "connect", _set_utc)
    event.listen(engine, "connect", _stamp_last_use)
    event.listen(engine, "checkout", _ping_when_idle)
    event.listen(engine, "checkin", _stamp_last_use)
    _use_simple_protocol_for_control_statements(engine)
    return engine


def _ping_when_idle(dbapi_connection, record, _proxy) -> None:
    """A pre-ping only for connections idle for `PING_AFTER_IDLE_S` or more.

    A warm Lambda serving a burst reuses a connection it used milliseconds ago: pinging it every time would
    add a round trip to every request (a third of a warm detail read). A connection that sat idle — across a
    frozen Lambda, an RDS Proxy idle cut or a database restart — is pinged, and a dead one replaced
    (`DisconnectionError` makes the pool retry the checkout with a fresh connection).
    """
    last_use = record.info.get("last_use")
    if last_use is not None and time.monotonic() - last_use < PING_AFTER_IDLE_S:
        return
    try:
        if hasattr(dbapi_connection, "execute_simple"):  # pg8000: one round trip
            dbapi_connection.execute_simple("SELECT 1")
        else:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
    except Exception as exc:  # any failure: the connection is unusable, let the pool replace it
        raise DisconnectionError(str(exc)) from exc


def _stamp_last_use(_dbapi_connection, record, *_proxy) -> None:
    """Checked in, or just connected: in use now."""
    record.info["last_use"] = time.monotonic()


def _use_simple_protocol_for_control_statements(engine: Engine) -> None:
    """COMMIT and ROLLBACK in one round trip each instead of three.

    pg8000 sends them through the extended protocol (Parse, Describe, Bind/Execute, each awaited): on a warm
    Lambda the round trips, not the queries, are most of a read's time.
    """
    dialect = engine.dialect

    def do_commit(dbapi_connection) -> None:
        # SQLAlchemy commits autocommit connections too; there is nothing to commit, so no round trip.
        if dbapi_connection._in_transaction:
            dbapi_connection.execute_simple("COMMIT")

    def do_rollback(dbapi_connection) -> None:
        if dbapi_connection._in_transaction:
            dbapi_connection.execute_simple("ROLLBACK")

    if engine.dialect.driver == "pg8000":
        dialect.do_commit = do_commit
        dialect.do_rollback = do_rollback


def _set_utc(dbapi_connection, _record) -> None:
    """Make sure the session speaks UTC, without a statement when the startup parameter did it.

    The server reports the session's TimeZone at startup (ParameterStatus): normally the UTC asked for in
    STARTUP_PARAMS, at no cost. Only a server or proxy that did not apply it gets the SET — correct, but a
    session-level SET pins the connection to one backend in RDS Proxy for the rest of its life, so it is logged.
    """
    if getattr(dbapi_connection, "parameter_statuses", {}).get("TimeZone") in UTC_NAMES:
        return
    from sentrix.observability import logger

    logger.warning(
        "database session not in UTC after startup: time zone set by a statement (pins the proxy connection)"
    )
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
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(bind=get_engine(), expire_on_commit=False, info={_BOUNDED: True})
    event.listen(factory, "after_begin", _bound_transaction)
    return factory


_BOUNDED = "sentrix_bounded"
_LOCAL_SETTINGS = "sentrix_local_settings"
_SETTING_NAME = re.compile(r"[a-z_]{1,63}")
_SETTING_VALUE = re.compile(r"[A-Za-z0-9_.]{1,32}")


def set_local_on_begin(session: Session, settings: dict[str, str]) -> bool:
    """Queue `SET LOCAL`s to travel with the session's BEGIN (no round trip of their own); False when the
    transaction has begun already (or the session is not one of `session_scope`'s) and the caller must send them."""
    if not session.info.get(_BOUNDED) or session.in_transaction():
        return False
    for name, value in settings.items():
        if not (_SETTING_NAME.fullmatch(name) and _SETTING_VALUE.fullmatch(value)):
            raise ValueError(f"not a plain setting: {name}={value!r}")  # rendered into SQL: our constants only
    session.info.setdefault(_LOCAL_SETTINGS, {}).update(settings)
    return True


def _bound_transaction(session: Session, _transaction, connection: Connection) -> None:
    """Every transaction of a session starts under the request's statement_timeout (sentrix.db.budget), with
    the settings `set_local_on_begin` queued."""
    _begin_bounded(connection.connection.driver_connection, connection, session.info.pop(_LOCAL_SETTINGS, None))


def _begin_bounded(dbapi_connection, connection: Connection, extra: dict[str, str] | None = None) -> None:
    """BEGIN with the statement_timeout as SET LOCAL, in one round trip: pg8000 would otherwise send its own
    BEGIN before the first statement, so the bound costs nothing. Never a session-level SET (RDS Proxy would
    pin the connection for good); the setting ends with the transaction."""
    setting = ", ".join(
        [budget.set_timeout_sql(budget.statement_timeout_ms())]
        + [f"set_config('{name}', '{value}', true)" for name, value in (extra or {}).items()]
    )
    if not hasattr(dbapi_connection, "execute_simple"):  # another driver: one more statement
        connection.exec_driver_sql(f"SELECT {setting}")
        return
    # A transaction may already be open (a new connection's fallback SET TIME ZONE began one): only the setting.
    begin = "" if dbapi_connection._in_transaction else "BEGIN TRANSACTION; "
    try:
        dbapi_connection.execute_simple(f"{begin}SELECT {setting}")
    except Exception as exc:
        # The driver's own error (a dead socket: InterfaceError, OSError), not wrapped by SQLAlchemy: the pool
        # must drop the connection, and the caller hears 503 like for any lost connection.
        connection.invalidate()
        raise DependencyUnavailable("Database unavailable") from exc


def reset_engine() -> None:
    """Dispose the cached engines (tests, and after the database URL changes)."""
    for cached in (get_engine, get_read_engine):
        if cached.cache_info().currsize:
            cached().dispose()
        cached.cache_clear()
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
        raise_typed(exc)
        raise
    except OSError as exc:
        # pg8000 raises a bare ConnectionResetError/BrokenPipeError when the server goes away (mid-COMMIT, or on
        # a connection reused without a ping): SQLAlchemy does not see a disconnect, so the pool must be told.
        session.invalidate()
        raise DependencyUnavailable("Database unavailable") from exc
    except BaseException:
        _safe_rollback(session)
        raise
    finally:
        session.close()


@contextmanager
def transaction_scope(engine: Engine | None = None) -> Iterator[Connection]:
    """`session_scope` for Core statements, without the ORM: one transaction on a pooled connection, begun
    under the request's statement_timeout (in the BEGIN's round trip), committed on success and rolled back on
    any error; connection loss becomes transient. For code that never loads objects (detect's store)."""
    try:
        with (engine or get_engine()).connect() as connection:
            try:
                with connection.begin():
                    _begin_bounded(connection.connection.driver_connection, connection)
                    yield connection
            except OSError as exc:  # see session_scope: a dead socket the pool must not hand out again
                connection.invalidate()
                raise DependencyUnavailable("Database unavailable") from exc
    except DBAPIError as exc:
        raise_typed(exc)
        raise
    except OSError as exc:
        raise DependencyUnavailable("Database unavailable") from exc


@contextmanager
def read_scope() -> Iterator[Connection]:
    """A Core connection in autocommit for reads that need no snapshot across statements (one query, or
    independent ones): no BEGIN/COMMIT round trips, and none of the ORM session's bookkeeping (about half a
    millisecond a request). Connection loss becomes transient like in `session_scope`.
    """
    try:
        with get_read_engine().connect() as connection:
            raw = connection.connection.driver_connection
            try:
                # The statement_timeout needs a transaction to be SET LOCAL in: one opened with it (one round
                # trip, see `_begin_bounded`) and ended below (one more). Bounded reads beat the saved trips.
                _begin_bounded(raw, connection)
                yield connection
                _end_read(raw, "COMMIT")
            except OSError as exc:  # see session_scope: a dead socket the pool must not hand out again
                connection.invalidate()
                raise DependencyUnavailable("Database unavailable") from exc
            except BaseException:
                _end_read(raw, "ROLLBACK", quiet=True)
                raise
    except DBAPIError as exc:
        raise_typed(exc)
        raise
    except OSError as exc:
        raise DependencyUnavailable("Database unavailable") from exc


def bounded_read(sql: str) -> list[Any]:
    """The rows of one parameterless statement under the request's statement_timeout, in one round trip.

    `read_scope` bounds its reads in an explicit transaction: BEGIN with the SET LOCAL, the statement, COMMIT —
    three round trips, two thirds of a warm one-statement read (issue 21). Here the setting and the statement
    travel as one simple Query: PostgreSQL runs a multi-statement Query as one implicit transaction, arms each
    statement's timeout as it starts (so the statement runs under the value the first one set) and drops the
    local setting with the transaction. No session state is left (nothing pins RDS Proxy). The first statement
    returns no row (its filter is false), so the rows are the statement's own: named tuples (`row.name`).

    The statement goes straight through the pooled connection's DB-API cursor (SQLAlchemy's statement
    machinery would add ~0.2 ms to a ~2 ms read and nothing this needs); errors come back as SQLAlchemy would
    raise them (`DBAPIError`, the connection invalidated on a disconnect) and then as our typed errors, like
    `read_scope`'s. `sql` must be our constant SQL with only parsed values formatted in (pg8000 sends a
    statement without parameters as it is)."""
    timeout = budget.set_timeout_sql(budget.statement_timeout_ms())
    setting = f"SELECT 1 FROM {timeout} AS bound WHERE bound IS NULL"  # noqa: S608 - an int, rendered by budget
    engine = get_read_engine()
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            if not hasattr(raw, "execute_simple"):  # another driver: the explicit transaction
                _begin_bounded(raw, connection)
                rows = list(connection.exec_driver_sql(sql).all())
                _end_read(raw, "COMMIT")
                return rows
            statement = f"{setting}; {sql}"
            cursor = raw.cursor()
            try:
                cursor.execute(statement)
                found = cursor.fetchall()
                names = tuple(column[0] for column in cursor.description or ())
                # A new connection's fallback SET TIME ZONE may have left a transaction open: end it here.
                _end_read(raw, "COMMIT")
            except OSError as exc:  # see session_scope: a dead socket the pool must not hand out again
                connection.invalidate()
                raise DependencyUnavailable("Database unavailable") from exc
            except engine.dialect.loaded_dbapi.Error as exc:
                invalidated = engine.dialect.is_disconnect(exc, raw, cursor)
                if invalidated:
                    connection.invalidate()
                else:
                    _end_read(raw, "ROLLBACK", quiet=True)
                raise DBAPIError.instance(
                    statement, (), exc, engine.dialect.loaded_dbapi.Error, connection_invalidated=invalidated
                ) from exc
            except BaseException:
                _end_read(raw, "ROLLBACK", quiet=True)
                raise
            finally:
                cursor.close()
            row = _row_type(names)
            return [row(*values) for values in found]
    except DBAPIError as exc:
        raise_typed(exc)
        raise
    except OSError as exc:
        raise DependencyUnavailable("Database unavailable") from exc


@functools.lru_cache(maxsize=64)
def _row_type(names: tuple[str, ...]) -> type:
    """A named tuple for a statement's columns (names that are not identifiers renamed _0, _1, …)."""
    return collections.namedtuple("Row", names, rename=True)


def _end_read(dbapi_connection, command: str, *, quiet: bool = False) -> None:
    if not getattr(dbapi_connection, "_in_transaction", True):
        return
    try:
        if hasattr(dbapi_connection, "execute_simple"):
            dbapi_connection.execute_simple(command)
        else:
            dbapi_connection.commit() if command == "COMMIT" else dbapi_connection.rollback()
    except Exception:
        if not quiet:
            raise


# A server that is shutting down, starting up or full refuses new connections with these SQLSTATEs, which
# pg8000 raises as ProgrammingError (not OperationalError): the database is unavailable, not the request wrong.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "53400"})


# PostgreSQL cannot store NUL in text or jsonb (22021 character_not_in_repertoire, 22P05 untranslatable_character).
# Only a client sends one, in whatever free-text field it likes: its 422, not our 500, in every function.
CLIENT_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


# A statement cancelled by its statement_timeout (or by pg_cancel_backend): the request asked too much.
QUERY_CANCELED = "57014"


def raise_typed(exc: DBAPIError) -> None:
    """Raise the typed error a database refusal stands for (unavailable, or text it cannot store); return when
    there is none, and the caller re-raises the original."""
    state = sqlstate(exc) or ""
    if state == QUERY_CANCELED:
        raise budget.query_timeout() from exc
    if (
        isinstance(exc, (OperationalError, InterfaceError))
        or exc.connection_invalidated
        or state in UNAVAILABLE_SQLSTATES
        or state.startswith("08")  # connection exceptions
    ):
        raise DependencyUnavailable("Database unavailable") from exc
    if state in CLIENT_TEXT_SQLSTATES:
        raise ValidationFailed("Text values may not contain NUL (\\u0000) characters") from exc


def _safe_rollback(session: Session) -> None:
    # On a dead connection the rollback itself fails; the original error is the one worth raising.
    try:
        session.rollback()
    except (DBAPIError, OSError):
        session.invalidate()
