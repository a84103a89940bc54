"""The values of the UWS implementation: phases, jobs, their results and errors (UWS 1.1 §2.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.errors import JobStateError  # defined with every public error; re-exported here

__all__ = [
    "ACTIVE_PHASES",
    "FINAL_PHASES",
    "RESULT_NAME",
    "ExecutionPhase",
    "Job",
    "JobError",
    "JobRef",
    "JobResult",
    "JobStateError",
    "Parameter",
]

RESULT_NAME = "result"
"""The id (and URL segment) of the single result of a TAP job (TAP 1.1 §2.2)."""


class ExecutionPhase(StrEnum):
    """UWS 1.1 §2.1.3 execution phases."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    UNKNOWN = "UNKNOWN"
    HELD = "HELD"
    SUSPENDED = "SUSPENDED"
    ARCHIVED = "ARCHIVED"


ACTIVE_PHASES = frozenset({ExecutionPhase.PENDING, ExecutionPhase.QUEUED, ExecutionPhase.EXECUTING})
"""Phases during which a blocking ``WAIT`` may block (UWS §2.2.1.2)."""

FINAL_PHASES = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.ERROR, ExecutionPhase.ABORTED,
                          ExecutionPhase.ARCHIVED})
"""Phases a job never leaves."""


@dataclass(frozen=True)
class Parameter:
    """One posted parameter value; a multi-valued parameter (UPLOAD) is several of these."""

    name: str
    value: str


@dataclass(frozen=True)
class JobResult:
    """The result file of a completed (or aborted with partial output) job."""

    mime_type: str
    size: int
    rows: int | None = None
    overflow: bool = False


@dataclass(frozen=True)
class JobError:
    """Why a job is in phase ERROR; ``has_detail``: a DALI error document is at ``…/error``."""

    message: str
    type: str = "fatal"
    has_detail: bool = True


@dataclass(frozen=True)
class JobRef:
    """What the job list shows of a job (schema ``ShortJobDescription``)."""

    job_id: str
    phase: ExecutionPhase
    run_id: str | None
    owner_id: str | None
    creation_time: datetime


@dataclass(frozen=True)
class Job:
    """A UWS job (schema ``JobSummary``); times are aware UTC datetimes."""

    job_id: str
    phase: ExecutionPhase
    run_id: str | None
    owner_id: str | None
    creation_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    execution_duration_s: int
    """Wall-clock limit in seconds; 0 would mean unlimited, but the service always sets a limit."""
    destruction: datetime
    quote: datetime | None
    parameters: tuple[Parameter, ...] = ()
    upload_files: tuple[str, ...] = ()
    """Names of the inline upload files kept with the job (the ``x`` of ``UPLOAD=t,param:x``)."""
    result: JobResult | None = None
    error: JobError | None = None
    worker_id: int | None = None
    backend_pid: int | None = None
    owner_groups: frozenset[str] = frozenset()
    """The owner's groups when the job was created: the job's query runs for them (row-level security)."""

    @property
    def principal(self) -> Principal:
        """Who the job belongs to and runs for: its creator, as it was when it created the job."""
        return ANONYMOUS if self.owner_id is None else Principal(self.owner_id, self.owner_groups)

    def parameter_map(self) -> Mapping[str, list[str]]:
        """Parameters as ``jmmctap.dali.parse_tap_parameters`` takes them: name → values in order."""
        mapping: dict[str, list[str]] = {}
        for parameter in self.parameters:
            mapping.setdefault(parameter.name, []).append(parameter.value)
        return mapping
