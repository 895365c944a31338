"""Where a study lives: ``hydra.sweeper.storage`` parsed, opened, locked, and kept out of every record.

=====================================  ==================================================================
``null`` / ``sqlite``                  ``sqlite:///<sweep dir>/optuna.db``: the embedded default (one machine)
``journal`` / ``journal:PATH``         Optuna's journal file (``<sweep dir>/optuna.journal`` or PATH): many
                                       processes on one machine or on a shared file system
any SQLAlchemy URL                     ``postgresql://user@host:port/db`` (psycopg 3), ``postgresql+psycopg2://``,
                                       ``mysql+pymysql://``, ``sqlite:////abs/file.db``: many machines
=====================================  ==================================================================

The study lock. Workers of one study decide together how many trials are left, which trials were lost with a
dead worker, and create the study (and an empty database's tables, Optuna issue #1092) once. Each of these
short steps runs under :meth:`StorageSpec.lock`: an ``flock`` on ``<file>.sweeper.lock`` beside a SQLite or
journal file (Linux NFS clients support it), a PostgreSQL advisory lock or a MySQL named lock on the database.
Each is released by the kernel or the server when a worker dies, so a killed worker never blocks the others.

Secrets. A password in the URL never reaches a record: :attr:`StorageSpec.shown` masks it (``***``) for logs,
results files, configs and the jobs' trial links; the jobs of this process find the full URL in the environment
variable :data:`STORAGE_ENV` (every Hydra launcher passes the environment on). ``PGPASSWORD`` and ``~/.pgpass``
work as they do for any libpq client, and ``storage: ${oc.env:OPTUNA_STORAGE}`` keeps the URL out of the
command line and out of the saved configs (Hydra saves the interpolation, not its value)."""

from __future__ import annotations

import os
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

MASK = "***"
STORAGE_ENV = "GAN_SWEEPS_OPTUNA_STORAGE"  # the full URL, for the jobs of a worker whose URL holds a password
SQLITE_FILE = "optuna.db"
JOURNAL_FILE = "optuna.journal"
SQLITE_TIMEOUT_S = 120  # seconds a SQLite connection waits for another process's write lock
LOCK_SUFFIX = ".sweeper"  # <storage file>.sweeper.lock: the study lock (the journal's own is <file>.lock)
ADVISORY_LOCK_KEY = 0x6761_6E73_7770  # PostgreSQL advisory lock key of this sweeper ("gansw" + "p")
NAMED_LOCK = "gan_sweeps_optuna"  # MySQL named lock
_THREAD_LOCK = threading.RLock()  # one holder per process: the heartbeat thread and the sweep loop take turns
_HELD = threading.local()  # how deep this thread is inside lock()


class StorageError(ValueError):
    """``hydra.sweeper.storage`` cannot be used (the message is one line and holds no password)."""


@dataclass(frozen=True)
class StorageSpec:
    kind: str  # "sqlite", "journal" or "rdb"
    url: str  # what Optuna opens (may hold a password: never log or record it, use ``shown``)
    path: Path | None = None  # the SQLite or journal file

    # ---- parsing and masking ---------------------------------------------------------------------------------
    @classmethod
    def parse(cls, value: Any, sweep_dir: str | os.PathLike) -> "StorageSpec":
        if value is not None and not isinstance(value, str):
            raise StorageError(f"hydra.sweeper.storage must be a URL string, got {type(value).__name__}")
        text = (value or "").strip()
        if text in ("", "sqlite"):
            path = (Path(sweep_dir) / SQLITE_FILE).resolve()
            return cls("sqlite", f"sqlite:///{path}", path)
        if text == "journal" or text.startswith("journal:"):
            rest = text[len("journal:"):] if text != "journal" else ""
            rest = "/" + rest.lstrip("/") if rest.startswith("///") else rest  # journal:///abs/path
            path = Path(rest).expanduser().resolve() if rest else (Path(sweep_dir) / JOURNAL_FILE).resolve()
            return cls("journal", f"journal:{path}", path)
        url = _sqlalchemy_url(text)
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if not database or database == ":memory:":
                return cls("sqlite", text, None)
            path = Path(database).expanduser().resolve()  # absolute: jobs may run in another folder (chdir)
            return cls("sqlite", url.set(database=str(path)).render_as_string(hide_password=False), path)
        return cls("rdb", text)

    @property
    def password(self) -> str | None:
        if self.kind == "journal":
            return None
        return _sqlalchemy_url(self.url).password or None

    @property
    def shown(self) -> str:
        """The URL as it may be recorded: the password masked."""
        if not self.password:
            return self.url
        return _sqlalchemy_url(self.url).render_as_string(hide_password=True)

    def redact(self, text: str) -> str:
        """``text`` with this storage's password masked (error messages, logs)."""
        return text.replace(self.password, MASK) if self.password and text else text

    def export_for_jobs(self) -> None:
        """Let this worker's jobs (any launcher passes the environment on) open a storage whose recorded URL is
        masked."""
        if self.password:
            os.environ[STORAGE_ENV] = self.url

    @classmethod
    def for_job(cls, shown: str) -> "StorageSpec":
        """The spec a job rebuilds from the masked URL of its trial link."""
        if MASK not in shown:
            return cls.parse(shown, ".")
        full = os.environ.get(STORAGE_ENV)
        if full and cls.parse(full, ".").shown == shown:
            return cls.parse(full, ".")
        raise StorageError(f"the trial's storage {shown} needs the password the sweeper was given; this job's "
                           f"environment has no {STORAGE_ENV} for it: use PGPASSWORD or ~/.pgpass on this machine")

    # ---- opening and locking ---------------------------------------------------------------------------------
    def open(self, **heartbeat: Any) -> Any:
        """The Optuna storage object (RDB tables are created here if missing: call it under :meth:`lock`);
        ``heartbeat``: RDBStorage's ``heartbeat_interval``, ``grace_period`` and callback (ignored by a journal)."""
        import optuna

        if self.kind == "journal":
            from optuna.storages.journal import JournalFileBackend

            self.path.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(self.path)))
        kwargs: dict[str, Any] = dict(heartbeat)
        if self.kind == "sqlite":
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["engine_kwargs"] = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
        try:
            with warnings.catch_warnings():  # heartbeat_interval is "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(self.url, **kwargs)
        except ModuleNotFoundError as exc:
            raise StorageError(_driver_hint(self.shown, exc)) from None
        except Exception as exc:  # noqa: BLE001 - e.g. the server refuses the connection: one line, no password
            raise StorageError(f"cannot open the Optuna storage {self.shown}: "
                               f"{self.redact(_first_line(exc))}") from None

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The study lock (see the module docstring); re-entrant within one thread, one thread at a time."""
        with _THREAD_LOCK:
            _HELD.depth = getattr(_HELD, "depth", 0) + 1
            try:
                if _HELD.depth > 1:
                    yield
                else:
                    with self._process_lock():
                        yield
            finally:
                _HELD.depth -= 1

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        if self.kind == "rdb":
            with self._database_lock():
                yield
        elif self.path is None:  # in-memory SQLite: one process
            yield
        else:
            from filelock import FileLock

            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + LOCK_SUFFIX + ".lock"):
                yield

    @contextmanager
    def _database_lock(self) -> Iterator[None]:
        import sqlalchemy
        from sqlalchemy.pool import NullPool

        backend = _sqlalchemy_url(self.url).get_backend_name()
        if backend == "postgresql":
            take, give = "SELECT pg_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)"
            args: dict[str, Any] = {"key": ADVISORY_LOCK_KEY}
        elif backend in ("mysql", "mariadb"):
            take, give = "SELECT GET_LOCK(:key, -1)", "SELECT RELEASE_LOCK(:key)"
            args = {"key": NAMED_LOCK}
        else:
            raise StorageError(f"hydra.sweeper.storage={self.shown}: workers need a study lock, which this sweeper "
                               f"has for PostgreSQL, MySQL, SQLite and journal files, not for {backend}")
        try:
            engine = sqlalchemy.create_engine(self.url, poolclass=NullPool)
            connection = engine.connect()
        except ModuleNotFoundError as exc:
            raise StorageError(_driver_hint(self.shown, exc)) from None
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"cannot connect to the Optuna storage {self.shown}: "
                               f"{self.redact(_first_line(exc))}") from None
        try:
            connection.execute(sqlalchemy.text(take), args)
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text(give), args)
        finally:
            connection.close()
            engine.dispose()


def _sqlalchemy_url(text: str) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(text)
    except ArgumentError:
        raise StorageError(f"hydra.sweeper.storage={text.split('@')[-1]!r} is not a storage: use null (SQLite in "
                           "the sweep folder), journal, journal:PATH or an SQLAlchemy URL such as "
                           "postgresql://user@host/db") from None


def _driver_hint(shown: str, exc: ModuleNotFoundError) -> str:
    extra = " (pip install 'gan-sweeps[postgres]' installs psycopg 3 for postgresql://; postgresql+psycopg2:// " \
            "needs psycopg2)" if shown.startswith("postgresql") else ""
    return f"hydra.sweeper.storage={shown}: its database driver is not installed: {exc}{extra}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
