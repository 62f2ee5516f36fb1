"""A project-local PostgreSQL + PostGIS cluster on a loopback port, started and stopped by pid."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_VERSION = "15"
POSTGIS_PACKAGE = f"postgresql-{PG_VERSION}-postgis-3"
DEFAULT_USER = "sentrix"
DEFAULT_PASSWORD = "sentrix"  # noqa: S105 - a loopback-only development cluster
# The role the application logs in as (migration 0009 creates it; `set_app_password` gives it this password),
# as in the cloud: the superuser above only migrates, seeds and cleans.
APP_USER = "sentrix_app"
APP_PASSWORD = "sentrix_app"  # noqa: S105 - a loopback-only development cluster


# Passwords are checked on TCP, as in the cloud (a wrong application password must fail locally too); only
# the cluster's own superuser `postgres`, which `psql` here uses, is trusted, on the socket and on loopback.
HBA = """\
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


class PostgresError(RuntimeError):
    pass


def _postgres_can_reach(directory: Path) -> bool:
    """Whether the postgres system user can traverse every existing ancestor of `directory`."""
    existing = directory
    while not existing.exists():
        existing = existing.parent
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(existing)], capture_output=True)
    return probe.returncode == 0


def _bindir() -> Path:
    candidate = Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")
    if (candidate / "postgres").exists():
        return candidate
    pg_config = shutil.which("pg_config")
    if pg_config:
        return Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
    raise PostgresError(f"PostgreSQL {PG_VERSION} binaries not found; install postgresql-{PG_VERSION}")


def _sharedir(bindir: Path) -> Path:
    return Path(subprocess.check_output([str(bindir / "pg_config"), "--sharedir"], text=True).strip())


def ensure_postgis(bindir: Path) -> None:
    """Install Debian's PostGIS package if it is missing and we are root; otherwise explain what to do."""
    control = _sharedir(bindir) / "extension" / "postgis.control"
    if control.exists():
        return
    if os.geteuid() != 0:
        raise PostgresError(f"PostGIS is not installed. Run: sudo apt-get install -y {POSTGIS_PACKAGE}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", POSTGIS_PACKAGE], check=True, env=env)
    if not control.exists():
        raise PostgresError(f"{POSTGIS_PACKAGE} installed but {control} is still missing")


@dataclass
class LocalPostgres:
    """One cluster in `data_dir`, listening on 127.0.0.1:`port` only."""

    data_dir: Path
    port: int
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD

    def __post_init__(self) -> None:
        self.bindir = _bindir()
        if os.geteuid() == 0 and not _postgres_can_reach(self.data_dir.parent):
            # A checkout under a private home directory: keep the cluster under /tmp instead.
            digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
            self.data_dir = Path(tempfile.gettempdir()) / f"sentrix-pg-{digest}" / self.data_dir.name
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"

    # PostgreSQL refuses to run as root, so as root everything runs as the `postgres` system user.
    def _as_owner(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return args

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self._as_owner(args), check=True, capture_output=True, text=True, **kwargs)

    def url(self, database: str = "sentrix") -> str:
        """The owner's URL (superuser): migrations, seeding and cleaning."""
        return f"postgresql+pg8000://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def app_url(self, database: str = "sentrix") -> str:
        """The application role's URL: what the functions get as DATABASE_URL."""
        return f"postgresql+pg8000://{APP_USER}:{APP_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def set_app_password(self, database: str = "sentrix") -> str:
        """Give the application role (made by migration 0009) its local password, as the deploy hook does in
        the cloud; returns `app_url(database)`."""
        from sentrix.db.roles import RoleCredentials, set_password

        set_password(self.url(database), RoleCredentials(APP_USER, APP_PASSWORD))
        return self.app_url(database)

    def _prepare_dir(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir.parent, "postgres", "postgres")

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised():
            return
        self._prepare_dir()
        ensure_postgis(self.bindir)
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )

    def _write_hba(self) -> bool:
        """Write HBA as pg_hba.conf (clusters initialised with trust everywhere included); True if it changed."""
        path = self.data_dir / "pg_hba.conf"
        if path.read_text() == HBA:
            return False
        path.write_text(HBA)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")
        return True

    def running(self) -> bool:
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        probe = subprocess.run(
            [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        )
        return probe.returncode == 0

    def start(self, *, fast: bool = False) -> None:
        """Start the cluster (initialising it the first time) and make sure our role exists."""
        ensure_postgis(self.bindir)
        self.init()
        hba_changed = self._write_hba()
        if not self.running():
            options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} -c max_connections=200"
            if fast:  # tests do not need durability; it halves their run time
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        elif hba_changed:
            self.psql("SELECT pg_reload_conf()")
        self._wait_ready()
        self.psql(
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{self.user}') THEN "
            f"CREATE ROLE {self.user} LOGIN SUPERUSER PASSWORD '{self.password}'; END IF; END$$;"
        )

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise PostgresError(f"PostgreSQL did not become ready on port {self.port}; see {self.log_file}")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
                capture_output=True,
            )

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = self._run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtc",
                sql,
            ]
        )
        return result.stdout

    def recreate_database(self, name: str) -> None:
        """Drop and create `name`, owned by our role (tests start from an empty database)."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}" OWNER {self.user}')

    def ensure_database(self, name: str) -> None:
        # Names come from our own configuration, never from a request.
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()  # noqa: S608
        if not exists:
            self.psql(f'CREATE DATABASE "{name}" OWNER {self.user}')
