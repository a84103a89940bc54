"""The decisions of the UWS implementation: create, run, abort, delete, wait, change parameters.

The HTTP layer (``endpoints/uws.py``) parses and responds; the store (``uws/store.py``) persists. What a
request may do in which phase, the limits applied to client values and the cleanup of files and backends
are decided here.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import anyio

from jmmctap.auth import Principal
from jmmctap.dali import MAX_RUNID_CHARS, TAP_SINGLE_VALUED, check_single_valued, check_text, single_value
from jmmctap.errors import NotFoundError, UsageError
from jmmctap.settings import Settings
from jmmctap.uws.cancel import cancel_backend
from jmmctap.uws.events import DELETED, JobEvents
from jmmctap.uws.joblog import log_transition
from jmmctap.uws.models import (
    ACTIVE_PHASES,
    FINAL_PHASES,
    ExecutionPhase,
    Job,
    JobRef,
    JobStateError,
    Parameter,
)
from jmmctap.uws.resultstore import ResultStore
from jmmctap.uws.store import JobStore, Stopped

__all__ = [
    "CONTROL_PARAMETERS", "MAX_LAST", "MULTI_VALUED_PARAMETERS", "WAIT_CAP_S", "JobService", "new_job_id",
    "parse_instant",
]

WAIT_CAP_S = 60.0
"""Longest blocking WAIT, in seconds, also for ``WAIT=-1`` (UWS §2.2.1.2: return before proxy timeouts)."""

CONTROL_PARAMETERS = frozenset({"PHASE", "EXECUTIONDURATION", "DESTRUCTION", "ACTION"})
"""UWS parameters that control the job at creation rather than being job parameters (UWS §2.2.3.1)."""

MULTI_VALUED_PARAMETERS = frozenset({"UPLOAD"})
"""Parameters whose values accumulate across POSTs; a new value of any other one replaces the old."""

MAX_LAST = 2**31 - 1
"""Largest ``LAST`` accepted (PostgreSQL's LIMIT is a bigint; no list comes near)."""

_JOB_ID_BYTES = 16
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What ``new_job_id`` produces (and a little more): anything else cannot name a job."""


def new_job_id() -> str:
    """An unguessable job id, a legal URI path segment (anonymous jobs are reachable by their URL)."""
    return secrets.token_urlsafe(_JOB_ID_BYTES)


def parse_instant(raw: str) -> datetime:
    """An ISO 8601 instant (``Z`` or an offset; no zone means UTC), as aware UTC.

    Raises
    ------
    UsageError
        Not an instant, or one that is outside years 1 to 9999 once converted to UTC.
    """
    try:
        value = datetime.fromisoformat(raw.strip())
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except ValueError:
        raise UsageError(f"{raw[:64]!r} is not an ISO 8601 instant such as 2030-01-01T00:00:00Z") from None
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise UsageError(f"{raw[:64]!r} is outside the years 1 to 9999 (UTC)") from None


class JobService:
    """UWS jobs as the HTTP layer sees them.

    Parameters
    ----------
    store
        Persistence of jobs.
    events
        Phase changes received by this process (for ``wait``).
    results
        Where job results and uploads are kept.
    settings
        Limits: execution duration, destruction period, upload size.
    query_conninfo
        Connection string of the query role, to cancel a job's backend.
    """

    def __init__(
        self, store: JobStore, events: JobEvents, results: ResultStore, settings: Settings, query_conninfo: str
    ) -> None:
        self.store, self.events, self.results, self.settings = store, events, results, settings
        self.query_conninfo = query_conninfo

    async def create(
        self, params: Mapping[str, Sequence[str]], uploads: Mapping[str, BinaryIO], principal: Principal
    ) -> Job:
        """Create a job from the POSTed parameters (``PHASE=RUN`` queues it at once).

        Parameters are checked when the job runs (TAP 1.1 §2.7), except the UWS controls here.

        Raises
        ------
        UsageError
            A bad ``PHASE``, ``EXECUTIONDURATION`` or ``DESTRUCTION`` value, or an oversized upload.
        """
        check_single_valued(params, TAP_SINGLE_VALUED | CONTROL_PARAMETERS)
        phase_value = (single_value(params, "PHASE") or "").upper()
        if phase_value not in ("", "RUN"):
            raise UsageError("PHASE at job creation can only be RUN")
        now = datetime.now(UTC)
        duration = self._execution_duration(single_value(params, "EXECUTIONDURATION"))
        destruction = now + timedelta(seconds=self.settings.destruction_period_s)
        if (raw := single_value(params, "DESTRUCTION")) is not None:
            destruction = self._destruction(parse_instant(raw), now)
        run_id = single_value(params, "RUNID")
        job = Job(
            job_id=new_job_id(),
            phase=ExecutionPhase.QUEUED if phase_value else ExecutionPhase.PENDING,
            run_id=None if run_id is None else check_text(run_id, "RUNID", MAX_RUNID_CHARS),
            owner_id=principal.name,
            owner_groups=principal.groups if principal.name is not None else frozenset(),  # personal group: derived
            creation_time=now,
            start_time=None,
            end_time=None,
            execution_duration_s=duration,
            destruction=destruction,
            quote=now + timedelta(seconds=duration),
            parameters=_job_parameters(params),
        )
        try:
            sizes = await self._save_uploads(job.job_id, uploads)
            await self.store.insert(job, sizes)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.results.remove(job.job_id)
            raise
        log_transition(job.job_id, job.phase.value, principal, run_id=job.run_id)
        return job

    async def get(self, job_id: str, principal: Principal) -> Job:
        """The job, if ``principal`` may see it: its owner's, or an anonymous job (to whoever has its URL).

        A job of another user is "not found", exactly like a job that never existed, rather than 403
        Forbidden: a 403 would confirm that the id exists and whose it is. Every read and change of a job
        (phase, parameters, results, files, deletion) goes through this check.

        Raises
        ------
        NotFoundError
            No such job, or another user's.
        """
        job = await self.store.get(job_id) if _JOB_ID.fullmatch(job_id) else None
        if job is None or (job.owner_id is not None and job.owner_id != principal.name):
            raise NotFoundError(f"no job {job_id!r}")
        return job

    async def list_jobs(
        self, principal: Principal, phases: Sequence[str], after: str | None, last: str | None
    ) -> list[JobRef]:
        """The caller's jobs filtered by ``PHASE`` (repeatable), ``AFTER`` and ``LAST`` (UWS §2.2.2.1).

        An anonymous caller gets an empty list: anonymous jobs belong to nobody, so listing them would show
        every anonymous caller's jobs to all (each is reached by its unguessable URL only).
        """
        try:
            wanted = [ExecutionPhase(p.upper()) for p in phases]
        except ValueError:
            raise UsageError(f"PHASE must be one of {', '.join(p.value for p in ExecutionPhase)}") from None
        count = None
        if last is not None:
            try:
                count = int(last)
            except ValueError:
                raise UsageError(f"LAST={last[:64]} is not an integer") from None
            if not 0 < count <= MAX_LAST:
                raise UsageError(f"LAST must be an integer from 1 to {MAX_LAST}")
        since = parse_instant(after) if after is not None else None
        if principal.name is None:
            return []
        return await self.store.list_jobs(principal.name, wanted, since, count)

    async def run(self, job_id: str, principal: Principal) -> None:
        """``PHASE=RUN``: PENDING (or HELD) → QUEUED before returning (pyvo's ``wait()`` fails on PENDING).

        Raises
        ------
        JobStateError
            The job has already finished.
        """
        await self.get(job_id, principal)
        before = await self.store.queue(job_id)
        if before is None:
            raise NotFoundError(f"no job {job_id!r}")
        if before in FINAL_PHASES:
            raise JobStateError(f"the job is {before.value} and cannot be run again")
        if before in (ExecutionPhase.PENDING, ExecutionPhase.HELD):
            log_transition(job_id, ExecutionPhase.QUEUED.value, principal)

    async def abort(self, job_id: str, principal: Principal) -> None:
        """``PHASE=ABORT``: stop an unfinished job now (its query is cancelled in PostgreSQL)."""
        await self.get(job_id, principal)
        stopped = await self.store.abort(job_id)
        if stopped is None:
            raise NotFoundError(f"no job {job_id!r}")
        if stopped.previous in ACTIVE_PHASES:
            log_transition(job_id, ExecutionPhase.ABORTED.value, principal, previous=stopped.previous.value)
        await cancel_backend(self.query_conninfo, stopped)

    async def delete(self, job_id: str, principal: Principal) -> None:
        """Forget the job (the caller's, or an anonymous one): stop it if it runs, delete its row and files."""
        stopped = await self.store.delete(job_id, principal.name) if _JOB_ID.fullmatch(job_id) else None
        if stopped is None:
            raise NotFoundError(f"no job {job_id!r}")
        log_transition(job_id, DELETED, principal, previous=stopped.previous.value)
        await self.discard(stopped)

    async def discard(self, stopped: Stopped) -> None:
        """Cancel the backend of a deleted job and remove its files (the database store's went with its row)."""
        await cancel_backend(self.query_conninfo, stopped)
        await self.results.remove(stopped.job_id)

    async def add_parameters(
        self, job_id: str, principal: Principal, params: Mapping[str, Sequence[str]], uploads: Mapping[str, BinaryIO]
    ) -> None:
        """Add parameters to a PENDING job: UPLOADs accumulate (TAP §5.1.2), other names take the new value.

        Replacing single-valued parameters is what taplint (E-UWS-PADU/PAMM) and clients expect of a
        second ``RUNID`` or ``MAXREC``; only UPLOAD is multi-valued (DALI 1.1 §3.4.5).

        Raises
        ------
        JobStateError
            The job is no longer PENDING.
        """
        job = await self.get(job_id, principal)
        if job.phase != ExecutionPhase.PENDING:
            raise JobStateError(f"parameters can only be changed while the job is PENDING (it is {job.phase.value})")
        for run_id in params.get("RUNID", ()):
            check_text(run_id, "RUNID", MAX_RUNID_CHARS)
        check_single_valued(params, TAP_SINGLE_VALUED)
        sizes = await self._save_uploads(job_id, uploads)
        added = _job_parameters(params)
        replaced = sorted({p.name for p in added} - MULTI_VALUED_PARAMETERS)
        phase = await self.store.add_parameters(job_id, added, sizes, replace=replaced)
        if phase is None:
            raise NotFoundError(f"no job {job_id!r}")
        if phase != ExecutionPhase.PENDING:
            raise JobStateError(f"parameters can only be changed while the job is PENDING (it is {phase.value})")

    async def set_execution_duration(self, job_id: str, principal: Principal, raw: str | None) -> None:
        """``EXECUTIONDURATION=n`` on a PENDING job; 0 or more than the hard limit gets the hard limit."""
        await self.get(job_id, principal)
        phase = await self.store.set_execution_duration(job_id, self._execution_duration(raw))
        if phase is not None and phase != ExecutionPhase.PENDING:
            raise JobStateError(f"the execution duration can only be changed while the job is PENDING (it is "
                                f"{phase.value})")

    async def set_destruction(self, job_id: str, principal: Principal, raw: str | None) -> None:
        """``DESTRUCTION=t``: any instant up to the hard limit after creation (later values are clipped)."""
        job = await self.get(job_id, principal)
        if raw is None:
            raise UsageError("the DESTRUCTION parameter is missing")
        await self.store.set_destruction(job_id, self._destruction(parse_instant(raw), job.creation_time))

    async def wait(self, job_id: str, principal: Principal, raw_wait: str, phase: str | None) -> Job:
        """Blocking GET (UWS §2.2.1.2): return at the first phase change, after the wait, or at once.

        Returns at once when the job is not PENDING/QUEUED/EXECUTING, or not in ``phase`` when given.
        ``WAIT=-1`` and long waits are capped at ``WAIT_CAP_S``.
        """
        try:
            seconds = float(raw_wait)
        except ValueError:
            seconds = math.nan
        if math.isnan(seconds):
            raise UsageError(f"WAIT={raw_wait[:64]} is not a number of seconds")
        timeout = WAIT_CAP_S if seconds < 0 else min(seconds, WAIT_CAP_S)
        with self.events.watch(job_id) as watch:  # subscribe first: no change can slip in before the read
            job = await self.get(job_id, principal)
            if not _blocks(job, phase):
                return job
            initial = job.phase
            deadline = asyncio.get_running_loop().time() + timeout
            while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
                if not await watch.wait(remaining):
                    break
                if watch.last == DELETED:
                    raise NotFoundError(f"no job {job_id!r}")
                job = await self.get(job_id, principal)
                if job.phase != initial:  # MUST return at the latest when the phase changes
                    break
        return job

    def _execution_duration(self, raw: str | None) -> int:
        hard = self.settings.execution_duration_hard_s
        if raw is None:
            return min(self.settings.execution_duration_s, hard)
        try:
            value = int(raw.strip())
        except ValueError:
            raise UsageError(f"EXECUTIONDURATION={raw[:64]} is not an integer number of seconds") from None
        if value < 0:
            raise UsageError("EXECUTIONDURATION must not be negative")
        return hard if value == 0 or value > hard else value  # UWS §2.1.4: the service may clip

    def _destruction(self, wanted: datetime, creation: datetime) -> datetime:
        return min(wanted, creation + timedelta(seconds=self.settings.destruction_period_hard_s))

    async def _save_uploads(self, job_id: str, uploads: Mapping[str, BinaryIO]) -> list[tuple[str, int]]:
        sizes = []
        for name, source in uploads.items():
            size = await self.results.save_upload(job_id, name, source, self.settings.upload_max_bytes)
            sizes.append((name, size))
        return sizes


def _blocks(job: Job, phase: str | None) -> bool:
    if job.phase not in ACTIVE_PHASES:
        return False
    return phase is None or job.phase.value == phase.upper()


def _job_parameters(params: Mapping[str, Sequence[str]]) -> tuple[Parameter, ...]:
    return tuple(
        Parameter(name, value)
        for name, values in params.items() if name not in CONTROL_PARAMETERS
        for value in values
    )
