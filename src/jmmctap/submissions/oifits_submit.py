"""OIFITS files submitted over HTTP (OiDB's upload): who may submit where, and the granules they become.

Rules (README, "OIFITS submissions"):

- **Collections.** A user submits to a collection of ``acl.collection`` one of whose groups they are in; a name
  that is neither there nor in ``ivoa.obscore`` becomes a new **private** collection of the submitter (their
  personal group ``user:<login>``, the default embargo), which an operator can open later (``jmmctap
  collection``). Members of the group ``admin`` submit anywhere; a collection that has granules but no rules
  (loaded by an operator) is theirs only.
- **Data PI.** The submitter (their login) unless ``datapi`` names another; a user may name one of their own
  ``jmmctap datapi`` names, while admins and members of an existing collection's groups may name anyone.
- **Embargo.** The collection's ``embargo_months`` (OiDB's rule: end of observation plus the embargo, for
  science data), so a recent file stays proprietary: its data PI, the collection's groups and delegated co-Is
  get it.
- **All or nothing.** One submission is one transaction: if any file is refused, no file of it is stored and
  the report says why for each. A file whose checksum is already in the collection is left as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import psycopg

from jmmctap.acl.principal import groups_of, personal_group
from jmmctap.acl.store import DEFAULT_EMBARGO_MONTHS
from jmmctap.auth import Principal
from jmmctap.catalogues.data_rights import refresh_data_rights
from jmmctap.catalogues.embargo import Embargo
from jmmctap.catalogues.eso_ingest import record_ingest
from jmmctap.catalogues.obscore_store import OIFITS_MIME_TYPE, GranuleOptions, upsert_granules
from jmmctap.db.connect import connect, conninfos
from jmmctap.errors import ForbiddenError, UsageError
from jmmctap.products.catalog import ProductPublisher, record_granule_files
from jmmctap.settings import Settings
from jmmctap.submissions.oifits_check import FileCheck, check_oifits
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["ADMIN_GROUP", "FileOutcome", "Submission", "SubmissionReport", "submit_oifits"]

ADMIN_GROUP = "admin"
"""Members submit to every collection and name any data PI (the catalog API's administrators too)."""

MAX_COLLECTION_CHARS = 100
"""Longest collection name a submission may create."""


@dataclass(frozen=True)
class Submission:
    """What a ``POST /oidb/submit`` asks: the collection, the data PI (None: the submitter), the level."""

    collection: str
    datapi: str | None = None
    calib_level: int = 2


@dataclass(frozen=True)
class FileOutcome:
    """One file of the report: ``accepted`` (granules written), ``unchanged`` (already there) or ``refused``."""

    check: FileCheck
    status: str
    granule_ids: tuple[int, ...] = ()
    access_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The file's entry in the JSON report."""
        c = self.check
        return {"file": c.name, "status": self.status, "size_bytes": c.stored.size_bytes, "sha256": c.stored.sha256,
                "oifits_version": c.version, "errors": list(c.errors), "warnings": list(c.warnings),
                "granules": list(self.granule_ids), "access_url": self.access_url}


@dataclass(frozen=True)
class SubmissionReport:
    """The whole submission: stored (every file accepted or unchanged) or refused (nothing stored)."""

    collection: str
    datapi: str
    calib_level: int
    created_collection: bool
    files: tuple[FileOutcome, ...]

    @property
    def refused(self) -> bool:
        """True when a file was refused, so nothing was stored."""
        return any(f.status == "refused" for f in self.files)

    @property
    def changed(self) -> bool:
        """True when granules were written."""
        return any(f.status == "accepted" for f in self.files)

    def as_json(self) -> dict[str, Any]:
        """The response body."""
        return {"collection": self.collection, "datapi": self.datapi, "calib_level": self.calib_level,
                "stored": not self.refused, "created_collection": self.created_collection and not self.refused,
                "files": [f.as_json() for f in self.files]}


async def submit_oifits(settings: Settings, principal: Principal, submission: Submission,
                        paths: Sequence[Path]) -> SubmissionReport:
    """Validate the files and, when none is refused, write their granules and keep them, in one transaction.

    Raises
    ------
    ForbiddenError
        The caller may not submit to the collection or name that data PI.
    UsageError
        A bad collection name or calibration level.
    """
    return await anyio.to_thread.run_sync(_submit, settings, principal, submission, list(paths))


def _submit(settings: Settings, principal: Principal, submission: Submission, paths: list[Path]) -> SubmissionReport:
    if principal.name is None:  # the endpoint asks for a login first; this is the last guard
        raise ForbiddenError("sign in to submit OIFITS files")
    _check_submission(submission)
    checks = [check_oifits(path, submission.calib_level) for path in paths]
    with connect(conninfos(settings).owner, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["oidb-submit:" + submission.collection])
        embargo_months, created = _authorize(conn, principal, submission)
        datapi = submission.datapi or principal.name
        if any(check.refused for check in checks):
            outcomes = [FileOutcome(c, "refused" if c.refused else "not stored") for c in checks]
            return SubmissionReport(submission.collection, datapi, submission.calib_level, created, tuple(outcomes))
        if created:
            _create_collection(conn, submission.collection, principal.name)
        options = GranuleOptions(submission.collection, calib_level=submission.calib_level,
                                 embargo=Embargo(months=embargo_months), datapi=datapi)
        outcomes = _store(conn, settings, checks, paths, options)
    return SubmissionReport(submission.collection, datapi, submission.calib_level, created, tuple(outcomes))


def _store(conn: psycopg.Connection[Any], settings: Settings, checks: list[FileCheck], paths: list[Path],
           options: GranuleOptions) -> list[FileOutcome]:
    """Granules and product files of the accepted files; a failure removes the files this call added."""
    started = datetime.now(UTC)
    publisher = ProductPublisher.from_settings(settings)
    added: list[str] = []
    outcomes: list[FileOutcome] = []
    try:
        for check, path in zip(checks, paths, strict=True):
            existing = _granules_of(conn, check.stored.sha256, options.collection)
            if existing:
                outcomes.append(FileOutcome(check, "unchanged", existing))
                continue
            assert check.product is not None
            if publisher.store.local_path(check.stored.sha256) is None:
                added.append(check.stored.sha256)
            stored, url = publisher.keep(path)
            ids = upsert_granules(conn, check.product, options, url)
            record_granule_files(conn, ids, stored, path.name, OIFITS_MIME_TYPE)
            outcomes.append(FileOutcome(check, "accepted", tuple(ids), url))
        written = [i for o in outcomes if o.status == "accepted" for i in o.granule_ids]
        if written:
            refresh_data_rights(conn, ids=written)
            record_ingest(conn, "ivoa.obscore", [p for o, p in zip(outcomes, paths, strict=True)
                                                 if o.status == "accepted"], len(written), started)
            refresh_row_counts(conn, ["ivoa.obscore"])
    except BaseException:
        for sha256 in added:
            stored_path = publisher.store.local_path(sha256)
            if stored_path is not None:
                stored_path.unlink(missing_ok=True)
        raise
    return outcomes


def _granules_of(conn: psycopg.Connection[Any], sha256: str, collection: str) -> tuple[int, ...]:
    rows = conn.execute("SELECT g.granule_id FROM products.granule_file g JOIN ivoa.obscore o ON o.id = g.granule_id"
                        " WHERE g.sha256 = %s AND o.obs_collection = %s ORDER BY g.granule_id",
                        [sha256, collection]).fetchall()
    return tuple(int(r[0]) for r in rows)


def _check_submission(submission: Submission) -> None:
    name = submission.collection
    if not name.strip() or name != name.strip() or len(name) > MAX_COLLECTION_CHARS or not name.isprintable():
        raise UsageError(f"collection must be a name of 1 to {MAX_COLLECTION_CHARS} printable characters"
                         " without leading or trailing spaces")
    if submission.calib_level not in (1, 2, 3):
        raise UsageError("calib_level must be 1, 2 or 3")
    if submission.datapi is not None and (not submission.datapi.strip() or len(submission.datapi) > 200):
        raise UsageError("datapi must be a name of 1 to 200 characters")


def _authorize(conn: psycopg.Connection[Any], principal: Principal, submission: Submission) -> tuple[int, bool]:
    """(embargo in months, whether the collection is to be created), or ForbiddenError."""
    assert principal.name is not None
    groups = groups_of(principal)
    admin = ADMIN_GROUP in groups
    row = conn.execute(
        "SELECT c.embargo_months, coalesce(array_agg(g.group_name) FILTER (WHERE g.group_name IS NOT NULL), '{}')"
        " FROM acl.collection c LEFT JOIN acl.collection_group g ON g.collection = c.name"
        " WHERE c.name = %s GROUP BY c.name", [submission.collection]).fetchone()
    if row is not None:
        member = bool(groups & set(row[1]))
        if not (admin or member):
            raise ForbiddenError(f"{principal.name} may not submit to collection {submission.collection}: it is"
                                 " open to its groups' members only")
        _check_datapi(conn, principal.name, submission.datapi, admin or member)
        return int(row[0]), False
    used = conn.execute("SELECT 1 FROM ivoa.obscore WHERE obs_collection = %s LIMIT 1",
                        [submission.collection]).fetchone()
    if used and not admin:
        raise ForbiddenError(f"collection {submission.collection} is managed by the operators: submit to a"
                             " collection of yours, or a new one")
    _check_datapi(conn, principal.name, submission.datapi, admin)
    return DEFAULT_EMBARGO_MONTHS, used is None


def _check_datapi(conn: psycopg.Connection[Any], login: str, datapi: str | None, may_name_anyone: bool) -> None:
    if datapi is None or datapi == login or may_name_anyone:
        return
    if conn.execute("SELECT 1 FROM acl.data_pi WHERE user_name = %s AND datapi = %s", [login, datapi]).fetchone():
        return
    raise ForbiddenError(f"{login} may not name {datapi!r} as data PI: name yourself or one of your data PI names"
                         " (jmmctap datapi), or ask a member of the collection's groups")


def _create_collection(conn: psycopg.Connection[Any], name: str, login: str) -> None:
    conn.execute("INSERT INTO acl.collection (name, private, embargo_months) VALUES (%s, true, %s)",
                 [name, DEFAULT_EMBARGO_MONTHS])
    conn.execute("INSERT INTO acl.collection_group (collection, group_name) VALUES (%s, %s)",
                 [name, personal_group(login)])
