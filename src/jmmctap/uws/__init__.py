"""UWS 1.1 jobs of TAP ``/async``: persisted in PostgreSQL (schema ``uws``), run by workers that can be aborted.

Modules: ``models`` (values), ``store`` (all SQL, LISTEN), ``events`` (in-process notification delivery),
``files`` (job directories), ``xml`` (UWS documents), ``service`` (decisions), ``cancel`` (stopping a
backend), ``execute`` (running a job's query into its file), ``worker`` (claim/run/heartbeat),
``sweeper`` (dead workers, destruction), ``runtime`` (assembly for ``serve`` and ``jmmctap worker``).
"""

from jmmctap.uws.models import ExecutionPhase, Job, JobError, JobRef, JobResult, JobStateError, Parameter

__all__ = ["ExecutionPhase", "Job", "JobError", "JobRef", "JobResult", "JobStateError", "Parameter"]
