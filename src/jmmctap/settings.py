"""Service settings, read once from the environment into a frozen dataclass."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

from jmmctap.errors import ConfigError

__all__ = ["LOG_FORMATS", "LOG_LEVELS", "RESULTS_STORES", "Settings"]

LOG_FORMATS = ("text", "json")
"""Values of ``JMMCTAP_LOG_FORMAT``."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""Values of ``JMMCTAP_LOG_LEVEL`` (case-insensitive)."""

RESULTS_STORES = ("files", "database")
"""Values of ``JMMCTAP_RESULTS_STORE`` (``uws/resultstore.py``)."""


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "jmmctap"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, each with a default and a help text (``metadata["help"]``).

    ``from_env`` maps field ``x`` to the environment variable ``JMMCTAP_X``.
    """

    home: Path = field(
        default_factory=_default_home,
        metadata={"help": "Directory of the embedded PostgreSQL cluster and of service state."},
    )
    dsn: str | None = field(
        default=None,
        metadata={"help": "libpq connection string of an existing database to use instead of the embedded one."},
    )
    query_dsns: str | None = field(
        default=None,
        metadata={"help": "Read replicas (hot standbys of JMMCTAP_DSN) for user queries: libpq connection strings "
                          "separated by `;`; user and password are the query role's, read from the primary."},
    )
    replica_max_lag_s: float = field(
        default=10.0,
        metadata={"help": "A replica further behind the primary than this, in seconds, is skipped (shown in /health)."},
    )
    replica_wait_s: float = field(
        default=1.0,
        metadata={"help": "Longest wait of a query for a replica to replay a write it must see (read-your-writes), "
                          "in seconds; the primary runs it after."},
    )
    host: str = field(default="127.0.0.1", metadata={"help": "Address the HTTP server binds to."})
    port: int = field(default=8000, metadata={"help": "Port of the HTTP server."})
    public_url: str | None = field(
        default=None,
        metadata={"help": "Public root URL (e.g. https://tap.jmmc.fr) when behind a proxy; default from the request."},
    )
    pg_bindir: Path = field(
        default=Path("/usr/lib/postgresql/15/bin"),
        metadata={"help": "Directory of the PostgreSQL 15 server binaries (initdb, pg_ctl, postgres)."},
    )
    pg_sharedir: Path = field(
        default=Path("/usr/share/postgresql/15"),
        metadata={"help": "PostgreSQL share directory, where the pg_sphere extension must be installed."},
    )
    query_role: str = field(
        default="jmmctap_query",
        metadata={"help": "SELECT-only database role that runs user queries."},
    )
    query_timeout_s: float = field(
        default=60.0,
        metadata={"help": "Statement timeout of synchronous user queries, in seconds."},
    )
    maxrec_default: int = field(
        default=100_000, metadata={"help": "Rows returned when the client sets no MAXREC."}
    )
    maxrec_hard: int = field(
        default=20_000_000, metadata={"help": "Largest MAXREC honoured; larger values are capped."}
    )
    pool_size: int = field(
        default=8, metadata={"help": "Queries run at once per server process (database connections per pool)."}
    )
    slow_clients: int = field(
        default=16,
        metadata={"help": "Responses whose client stopped reading that may keep a connection beyond pool_size."},
    )
    client_queries: int = field(
        default=32, metadata={"help": "Queries one client address may run at once (HTTP 429 beyond)."}
    )
    queue_wait_s: float = field(
        default=20.0, metadata={"help": "Longest wait of a query for a free connection, in seconds (HTTP 503 after)."}
    )
    send_timeout_s: float = field(
        default=60.0,
        metadata={"help": "A response whose client accepts no byte for this many seconds is ended."},
    )
    gzip_level: int = field(
        # 1, from bench/gzip_levels.py (bench/README.md, 2-core machine): a 60 MB BINARY2 result goes as
        # 20 MB for +0.7 s of server CPU (zlib level 1 runs at ~100 MB/s, three times our encoder), 1.14x
        # the loopback time and 2.6x faster than uncompressed at 100 Mbit/s. Level 6 saves 15 % more bytes
        # for 2.5x that CPU (1.8x loopback), level 9 is 8x slower: the server, not the link, bounds them.
        default=1,
        metadata={"help": "zlib level (1 fastest to 9 smallest) of gzip/deflate responses and stored async "
                          "results, for clients that send Accept-Encoding; 0 turns compression off."},
    )
    results_dir: Path | None = field(
        default=None,
        metadata={"help": "Directory of async job results and uploads (default $JMMCTAP_HOME/results) with "
                          "JMMCTAP_RESULTS_STORE=files; must be shared by every process using the database."},
    )
    results_store: str = field(
        default="files",
        metadata={"help": "Where async results and job uploads are kept: `files` (JMMCTAP_RESULTS_DIR, a shared "
                          "directory) or `database` (PostgreSQL, schema uws: no shared disk between hosts)."},
    )
    shutdown_grace_s: float = field(
        default=30.0,
        metadata={"help": "On SIGTERM, `serve` stops accepting connections and lets requests in flight (sync "
                          "queries) finish for at most this many seconds before ending them."},
    )
    products_dir: Path | None = field(
        default=None,
        metadata={"help": "Directory of the product files kept by the service, named by their SHA-256 "
                          "(default $JMMCTAP_HOME/products); shared by every process serving them."},
    )
    clock: str | None = field(
        default=None,
        metadata={"help": "ISO 8601 date-time at which embargoes on product files are judged instead of the "
                          "database's now() (tests, or to check a release in advance); unset in production."},
    )
    async_workers: int = field(
        default=4,
        metadata={"help": "Async (UWS) job workers inside each `serve` process; 0 leaves jobs to `jmmctap worker`."},
    )
    execution_duration_s: int = field(
        default=600, metadata={"help": "Default execution duration of async jobs, in seconds."}
    )
    execution_duration_hard_s: int = field(
        default=3600, metadata={"help": "Longest execution duration an async job may ask for, in seconds."}
    )
    destruction_period_s: int = field(
        default=7 * 86400, metadata={"help": "Async jobs and results are deleted this many seconds after creation."}
    )
    destruction_period_hard_s: int = field(
        default=30 * 86400, metadata={"help": "Latest destruction a client may set, in seconds after creation."}
    )
    upload_max_bytes: int = field(
        default=50_000_000, metadata={"help": "Largest TAP UPLOAD table accepted, in bytes (each upload)."}
    )
    upload_max_rows: int = field(
        default=1_000_000, metadata={"help": "Largest TAP UPLOAD table accepted, in rows (each upload)."}
    )
    table_upload_max_bytes: int = field(
        default=2_000_000_000,
        metadata={"help": "Largest table file accepted by PUT /tables/SCHEMA.TABLE, in bytes as sent (spooled to a "
                          "temporary file while it arrives; HTTP 413 past it)."},
    )
    oifits_submit_max_bytes: int = field(
        default=200_000_000,
        metadata={"help": "Largest OIFITS file accepted by POST /oidb/submit, in bytes: each posted file, or the "
                          "file fetched from a URL (HTTP 413 past it; a request holds at most 50 files)."},
    )
    oifits_submit_url_timeout_s: float = field(
        default=60.0,
        metadata={"help": "Longest wait, in seconds, for each step (connect, each read) of fetching an OIFITS "
                          "file that POST /oidb/submit is given by URL."},
    )
    oifits_submit_private_urls: bool = field(
        default=False,
        metadata={"help": "Let POST /oidb/submit fetch URLs on loopback, private or link-local addresses "
                          "(off: the server cannot be used to probe its own network)."},
    )
    adql_max_length: int = field(
        default=200_000, metadata={"help": "Longest ADQL query accepted, in characters."}
    )
    adql_max_terms: int = field(
        default=20_000, metadata={"help": "Most names and literals one ADQL query may contain."}
    )
    adql_max_depth: int = field(
        default=100, metadata={"help": "Deepest nesting of parentheses, subqueries and signs in one ADQL query."}
    )
    adql_time_budget_s: float = field(
        default=5.0, metadata={"help": "Longest time translating one ADQL query may take, seconds."}
    )
    account_service: str | None = field(
        default=None,
        metadata={"help": "URL of JMMC's account service (…/account/manage.php) that checks the passwords of users"
                          " without a local one; unset: local passwords and tokens only."},
    )
    auth_cache_s: float = field(
        default=60.0,
        metadata={"help": "How long a checked password (local or by the account service) is remembered, seconds."},
    )
    login_failures_burst: int = field(
        default=10, metadata={"help": "Failed logins one client address may make in a row before HTTP 429."}
    )
    login_failure_refill_s: float = field(
        default=6.0, metadata={"help": "After the burst, one more failed login is allowed every this many seconds."}
    )
    registry_file: Path | None = field(
        default=None,
        metadata={"help": "YAML identity of the VO publishing registry (authority, publisher, contact, titles of"
                          " each resource); default: registry.yaml of the source tree. Validated at start."},
    )
    oai_page_size: int = field(
        default=100,
        metadata={"help": "Records per OAI-PMH list response at /oai; longer lists continue with a resumption"
                          " token."},
    )
    catalogs_path: str = field(
        default="/catalogs",
        metadata={"help": "URL path of the catalog API (JMMC's catalogAPI for a2p2): `/catalogs` or another"
                          " absolute path, without a trailing slash."},
    )
    eso_tap_url: str = field(
        default="https://archive.eso.org/tap_obs",
        metadata={"help": "TAP service of the ESO archive that `sync-eso` queries (table dbo.raw)."},
    )
    eso_header_url: str = field(
        default="https://archive.eso.org/hdr?DpId={dp_id}",
        metadata={"help": "URL template of the ESO archive's header service; {dp_id} is replaced by the exposure's"
                          " DP.ID (an HTML page with the header in <pre>, or the header as text)."},
    )
    eso_sync_interval_s: float = field(
        default=0.0,
        metadata={"help": "Seconds between two `sync-eso` runs inside each `serve` and `worker` process (a database"
                          " lock keeps it to one at a time); 0 (default): never, run `jmmctap sync-eso` yourself."},
    )
    eso_sync_page_size: int = field(
        default=1000, metadata={"help": "Rows of dbo.raw asked for per TAP request (MAXREC) by `sync-eso`."}
    )
    eso_sync_rate: float = field(
        default=2.0,
        metadata={"help": "Most requests per second `sync-eso` sends to the ESO archive (TAP and headers)."},
    )
    eso_sync_retries: int = field(
        default=5,
        metadata={"help": "Times `sync-eso` retries a request that failed with a timeout, a network error, HTTP 429 or"
                          " 5xx (waiting 1, 2, 4... s, or Retry-After) before it stops, to resume at the next run."},
    )
    eso_sync_timeout_s: float = field(
        default=60.0, metadata={"help": "Timeout of each network step of a `sync-eso` request, in seconds."}
    )
    log_format: str = field(
        default="text",
        metadata={"help": "Log format: `text` (time, level, logger, key=value pairs) or `json` (an object a line)."},
    )
    log_level: str = field(
        default="INFO", metadata={"help": "Least severe log level written: DEBUG, INFO, WARNING or ERROR."}
    )

    def __post_init__(self) -> None:
        """Refuse values the service cannot run with, naming the variable (checked when a process starts)."""
        for name, low in _MINIMA.items():
            value = getattr(self, name)
            if value < low:
                raise _invalid(name, value, f"must be at least {low}")
        if not self.query_timeout_s > 0:  # also refuses NaN
            raise _invalid("query_timeout_s", self.query_timeout_s, "must be a positive number of seconds")
        if not self.replica_max_lag_s > 0:
            raise _invalid("replica_max_lag_s", self.replica_max_lag_s, "must be a positive number of seconds")
        if not self.replica_wait_s >= 0:
            raise _invalid("replica_wait_s", self.replica_wait_s, "must be a number of seconds, 0 or more")
        if self.query_dsns and not self.dsn:
            raise _invalid("query_dsns", self.query_dsns, "needs JMMCTAP_DSN (the primary the replicas follow)")
        if self.gzip_level > _MAX_GZIP_LEVEL:
            raise _invalid("gzip_level", self.gzip_level, f"must be at most {_MAX_GZIP_LEVEL}")
        if self.port > _MAX_PORT:
            raise _invalid("port", self.port, f"must be at most {_MAX_PORT}")
        if self.maxrec_default > self.maxrec_hard:
            raise _invalid("maxrec_default", self.maxrec_default, "must not exceed JMMCTAP_MAXREC_HARD")
        if self.execution_duration_s > self.execution_duration_hard_s:
            raise _invalid("execution_duration_s", self.execution_duration_s,
                           "must not exceed JMMCTAP_EXECUTION_DURATION_HARD_S")
        if self.destruction_period_s > self.destruction_period_hard_s:
            raise _invalid("destruction_period_s", self.destruction_period_s,
                           "must not exceed JMMCTAP_DESTRUCTION_PERIOD_HARD_S")
        if self.results_store not in RESULTS_STORES:
            raise _invalid("results_store", self.results_store, f"must be one of {', '.join(RESULTS_STORES)}")
        if not self.shutdown_grace_s >= 0:
            raise _invalid("shutdown_grace_s", self.shutdown_grace_s, "must be a number of seconds, 0 or more")
        if self.log_format not in LOG_FORMATS:
            raise _invalid("log_format", self.log_format, f"must be one of {', '.join(LOG_FORMATS)}")
        if self.log_level.upper() not in LOG_LEVELS:
            raise _invalid("log_level", self.log_level, f"must be one of {', '.join(LOG_LEVELS)}")
        if self.account_service and not self.account_service.startswith(("http://", "https://")):
            raise _invalid("account_service", self.account_service, "must be an http:// or https:// URL")
        if not self.auth_cache_s >= 0:
            raise _invalid("auth_cache_s", self.auth_cache_s, "must be a number of seconds, 0 or more")
        if not self.login_failure_refill_s > 0:
            raise _invalid("login_failure_refill_s", self.login_failure_refill_s,
                           "must be a positive number of seconds")
        if not _PATH.match(self.catalogs_path) or self.catalogs_path.split("/")[1] in _RESERVED_PATHS:
            raise _invalid("catalogs_path", self.catalogs_path,
                           "must be an absolute URL path like /catalogs, without a trailing slash, outside "
                           + ", ".join(f"/{p}" for p in sorted(_RESERVED_PATHS)))
        for name in ("eso_tap_url", "eso_header_url"):
            if not str(getattr(self, name)).startswith(("http://", "https://")):
                raise _invalid(name, getattr(self, name), "must be an http:// or https:// URL")
        if "{dp_id}" not in self.eso_header_url:
            raise _invalid("eso_header_url", self.eso_header_url, "must contain {dp_id}")
        if not self.eso_sync_interval_s >= 0:
            raise _invalid("eso_sync_interval_s", self.eso_sync_interval_s, "must be a number of seconds, 0 or more")
        if not self.eso_sync_rate > 0:
            raise _invalid("eso_sync_rate", self.eso_sync_rate, "must be a positive number of requests per second")
        if not self.eso_sync_timeout_s > 0:
            raise _invalid("eso_sync_timeout_s", self.eso_sync_timeout_s, "must be a positive number of seconds")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise _invalid("public_url", self.public_url, "must be an http:// or https:// URL")
        if self.clock is not None:
            try:
                moment = datetime.fromisoformat(self.clock)
            except ValueError:
                raise _invalid("clock", self.clock, "must be an ISO 8601 date-time") from None
            if moment.tzinfo is None:
                raise _invalid("clock", self.clock, "must give its time zone (e.g. 2030-01-01T00:00:00Z)")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``JMMCTAP_*`` variables; explicit ``overrides`` win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"JMMCTAP_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, str(f.type))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def embargo_clock(self) -> datetime | None:
        """The moment embargoes are judged at (``clock``), None for the database's ``now()``."""
        return None if self.clock is None else datetime.fromisoformat(self.clock)

    @property
    def replica_dsns(self) -> tuple[str, ...]:
        """The connection strings of ``query_dsns``, in order (none: the primary runs every query)."""
        return tuple(part.strip() for part in (self.query_dsns or "").split(";") if part.strip())

    @property
    def embedded(self) -> bool:
        """True when jmmctap runs its own cluster (no ``dsn`` given)."""
        return not self.dsn


_MINIMA: dict[str, int] = {
    "port": 0, "maxrec_default": 0, "maxrec_hard": 0, "pool_size": 1,
    "async_workers": 0, "execution_duration_s": 1, "execution_duration_hard_s": 1, "destruction_period_s": 1,
    "destruction_period_hard_s": 1, "upload_max_bytes": 1, "upload_max_rows": 1, "table_upload_max_bytes": 1,
    "oifits_submit_max_bytes": 1, "oifits_submit_url_timeout_s": 1,
    "gzip_level": 0, "login_failures_burst": 1, "oai_page_size": 1, "eso_sync_page_size": 1, "eso_sync_retries": 0,
}
"""Smallest accepted value of each numeric setting (port 0: any free port)."""

_MAX_PORT = 65535

_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
"""An absolute URL path of plain segments (``catalogs_path``)."""

_RESERVED_PATHS = frozenset({"tap", "scs", "health", "openapi.json", "oai", "search", "adql", "jobs", "login", "static",
                             "products", "previews", "datalink", "oidb"})
"""First path segments the service uses itself."""

_MAX_GZIP_LEVEL = 9
"""zlib's highest compression level."""


def _invalid(name: str, value: object, why: str) -> ConfigError:
    return ConfigError(f"JMMCTAP_{name.upper()}={value}: {why}")


def _convert(name: str, raw: str, type_name: str) -> object:
    try:
        if "Path" in type_name:
            return Path(raw).expanduser()
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
        if type_name.startswith("bool"):
            return _boolean(raw)
    except ValueError:
        raise ConfigError(f"JMMCTAP_{name.upper()}={raw!r} is not a valid {type_name}") from None
    return raw


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)
