"""The embedded PostgreSQL cluster that jmmctap runs when no ``JMMCTAP_DSN`` is given.

Layout under ``$JMMCTAP_HOME/pg``: ``data/`` (PGDATA), ``run/`` (the Unix socket, mode 0700) and
``log/``. The cluster listens on its private socket only (no TCP), so several instances with
different homes never collide, and local ``trust`` authentication is safe: only the cluster's OS
user (and root) can open the socket. PostgreSQL refuses to run as root, so when jmmctap runs as
root the cluster belongs to the unprivileged ``postgres`` system user of Debian's package.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from jmmctap.errors import ConfigError, MissingDependencyError
from jmmctap.settings import Settings

__all__ = ["EmbeddedCluster", "check_postgres_installed"]

SUPERUSER = "postgres"
"""Bootstrap superuser created by initdb; used only to install the extension and the roles."""

PORT = 5432
"""Port number of the private socket (``run/.s.PGSQL.5432``); no TCP port is opened."""

SERVICE_OS_USER = "postgres"
"""OS user that owns and runs the cluster when jmmctap itself runs as root."""

_START_TIMEOUT_S = 60


def check_postgres_installed(settings: Settings) -> None:
    """Raise ``MissingDependencyError`` naming the Debian package when PostgreSQL 15 or pgsphere is absent."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (settings.pg_bindir / tool).is_file():
            raise MissingDependencyError(
                f"PostgreSQL 15 server not found in {settings.pg_bindir}: "
                "install it with 'apt-get install postgresql-15'"
            )
    if not (settings.pg_sharedir / "extension" / "pg_sphere.control").is_file():
        raise MissingDependencyError(
            f"pgsphere not found in {settings.pg_sharedir}/extension: "
            "install it with 'apt-get install postgresql-15-pgsphere'"
        )


@dataclass(frozen=True)
class EmbeddedCluster:
    """A private PostgreSQL cluster under ``home/pg``."""

    home: Path
    bindir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedCluster:
        return cls(home=settings.home.expanduser().absolute(), bindir=settings.pg_bindir)

    @property
    def root(self) -> Path:
        return self.home / "pg"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socketdir(self) -> Path:
        return self.root / "run"

    @property
    def logfile(self) -> Path:
        return self.root / "log" / "postgresql.log"

    def conninfo(self, user: str, dbname: str = "jmmctap") -> str:
        """libpq connection string for ``user`` over the private socket."""
        return f"host={self.socketdir} port={PORT} user={user} dbname={dbname}"

    def is_initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        """True when a postmaster answers on the private socket."""
        if not self.is_initialised():
            return False
        result = self._run(["pg_ctl", "status", "-D", str(self.datadir)], check=False)
        return result.returncode == 0

    def initialise(self) -> None:
        """Create the directories and run ``initdb`` (idempotent)."""
        if self.is_initialised():
            return
        self._prepare_directories()
        if self.datadir.exists() and any(self.datadir.iterdir()):
            raise ConfigError(f"{self.datadir} exists and is not a PostgreSQL 15 data directory")
        self._run([
            "initdb", "-D", str(self.datadir), "-U", SUPERUSER, "--auth-local=trust",
            "--auth-host=reject", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
        ])
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# jmmctap embedded cluster: private Unix socket only\n"
                "listen_addresses = ''\n"
                f"port = {PORT}\n"
                f"unix_socket_directories = '{self.socketdir}'\n"
                "unix_socket_permissions = 0700\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "work_mem = 32MB\n"
                "logging_collector = off\n"
                "# One node, no replicas: COPY into a table created in the same transaction (every ingest)\n"
                "# writes no WAL, which makes loading a catalogue about 30 % faster.\n"
                "wal_level = minimal\n"
                "max_wal_senders = 0\n"
            )

    def start(self, extra_options: str = "") -> None:
        """Start the cluster (initialising it first when needed); no-op when already running."""
        self.initialise()
        if self.is_running():
            return
        self._prepare_directories()
        result = self._run(
            ["pg_ctl", "start", "-D", str(self.datadir), "-l", str(self.logfile), "-w",
             "-t", str(_START_TIMEOUT_S), "-o", extra_options],
            check=False,
        )
        if result.returncode != 0:
            raise ConfigError(
                f"the embedded PostgreSQL did not start; see {self.logfile}: {self._log_tail()}"
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster quickly (``fast`` mode: running queries are cancelled; ``immediate``: a crash)."""
        if self.is_running():
            self._run(["pg_ctl", "stop", "-D", str(self.datadir), "-m", mode, "-w"])

    # -- helpers ---------------------------------------------------------------------------

    def _service_user(self) -> pwd.struct_passwd | None:
        """The OS user that must own the cluster, or None to use the current user."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SERVICE_OS_USER)
        except KeyError:
            raise MissingDependencyError(
                "running as root needs the 'postgres' system user: install it with "
                "'apt-get install postgresql-15'"
            ) from None

    def _prepare_directories(self) -> None:
        try:
            for path in (self.root, self.socketdir, self.logfile.parent):
                path.mkdir(parents=True, exist_ok=True)
            self.root.chmod(0o700)
            self.socketdir.chmod(0o700)
        except OSError as exc:
            raise ConfigError(f"cannot use JMMCTAP_HOME={self.home}: {exc.strerror}") from None
        user = self._service_user()
        if user is None:
            return
        for path in (self.root, self.socketdir, self.logfile.parent):
            os.chown(path, user.pw_uid, user.pw_gid)
        if self.datadir.exists():
            os.chown(self.datadir, user.pw_uid, user.pw_gid)
        self._grant_traverse(user)

    def _grant_traverse(self, user: pwd.struct_passwd) -> None:
        """Let the cluster's OS user reach ``home/pg`` through root-only ancestors (e.g. /root).

        Only the search (x) permission is granted, through an ACL entry for that one user, so
        nothing in those directories becomes listable or readable by it.
        """
        for ancestor in [self.home, *self.home.parents]:
            mode = ancestor.stat().st_mode
            if mode & 0o001:
                continue
            if shutil.which("setfacl") is None:
                raise MissingDependencyError(
                    f"{ancestor} is not reachable by the '{user.pw_name}' user that runs PostgreSQL: "
                    "install 'apt-get install acl' or choose a JMMCTAP_HOME outside it"
                )
            subprocess.run(
                ["setfacl", "-m", f"u:{user.pw_name}:x", str(ancestor)], check=True, capture_output=True
            )

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool from ``bindir``, as the cluster's OS user."""
        user = self._service_user()
        kwargs: dict[str, object] = {}
        if user is not None:
            kwargs = {
                "user": user.pw_uid,
                "group": user.pw_gid,
                "extra_groups": [g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem],
                "cwd": "/",
            }
        exe = [str(self.bindir / argv[0]), *argv[1:]]
        try:
            result = subprocess.run(
                exe, capture_output=True, text=True, env=_clean_env(), **kwargs  # type: ignore[call-overload]
            )
        except FileNotFoundError:
            raise MissingDependencyError(
                f"{exe[0]} not found: install it with 'apt-get install postgresql-15'"
            ) from None
        if check and result.returncode != 0:
            message = (result.stderr or result.stdout).strip().splitlines()
            raise ConfigError(f"{argv[0]} failed: {message[-1] if message else result.returncode}")
        return result  # type: ignore[no-any-return]

    def _log_tail(self) -> str:
        try:
            lines = [ln for ln in self.logfile.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no log"
        return lines[-1] if lines else "empty log"


def _clean_env() -> dict[str, str]:
    """Environment for PostgreSQL tools: no PG* variables that could redirect them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env
