"""Which errors of the database (and the network under it) are transient: the same work, tried again a
moment later, can succeed. Everything else (a bug, bad data, a broken constraint) is permanent."""

from __future__ import annotations

from asyncpg import exceptions as pg

TRANSIENT_POSTGRES: tuple[type[pg.PostgresError], ...] = (
    pg.DeadlockDetectedError,  # 40P01: one of two transactions waiting on each other was chosen to abort
    pg.SerializationError,  # 40001: could not serialize access (a concurrent update)
    pg.LockNotAvailableError,  # 55P03: a lock_timeout or NOWAIT gave up
    pg.PostgresConnectionError,  # class 08: the connection is gone (ConnectionDoesNotExistError, ...)
    pg.AdminShutdownError,  # 57P01: the server is shutting down (a restart, a failover)
    pg.CrashShutdownError,  # 57P02: another server process crashed; the server restarts
    pg.CannotConnectNowError,  # 57P03: the server is starting up or in recovery
    pg.TooManyConnectionsError,  # 53300
)

# OSErrors about files are not network trouble (nothing in a run touches files, but be exact).
_FILE_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


def is_transient(exc: BaseException) -> bool:
    """True for a deadlock, a serialization failure, a lock timeout, a lost or refused connection, a
    server restarting, a connect or acquire timeout (TimeoutError is an OSError) or another network
    OSError."""
    if isinstance(exc, TRANSIENT_POSTGRES):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, _FILE_ERRORS)
