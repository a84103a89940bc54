"""One structured log line per job transition (``job`` events), written by the process that made it.

Every process hears every phase notification, so the line is written where the transition is decided
(``service.py`` for create/run/abort/delete, ``worker.py`` for executing/completed/error), not where it
is announced.
"""

from __future__ import annotations

import logging

from jmmctap.auth import Principal
from jmmctap.logs import log_event

__all__ = ["log_transition"]

log = logging.getLogger("jmmctap.uws.jobs")


def log_transition(job_id: str, phase: str, principal: Principal | None, **fields: object) -> None:
    """Log that job ``job_id`` entered ``phase`` (or was ``DELETED``); ``principal`` None: not known here."""
    who = str(principal) if principal is not None else None
    log_event(log, "job", {"job": job_id, "phase": phase, "principal": who, **fields})
