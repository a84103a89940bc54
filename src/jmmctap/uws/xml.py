"""UWS 1.1 XML documents: job, job list, results, parameters (schema ``UWS-v1.1.xsd``), and text instants."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from jmmctap.uws.models import RESULT_NAME, Job, JobRef

__all__ = [
    "UWS_NS",
    "UWS_VERSION",
    "format_instant",
    "write_job",
    "write_job_list",
    "write_parameters",
    "write_results",
]

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
"""Namespace of UWS 1.0 and 1.1 documents."""

UWS_VERSION = "1.1"
"""Value of the ``version`` attribute of ``job`` and ``jobs`` (UWS §2.2.1.1: MUST for 1.1 services)."""

_XLINK_NS = "http://www.w3.org/1999/xlink"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"uws": UWS_NS, "xlink": _XLINK_NS, "xsi": _XSI_NS}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def format_instant(instant: datetime | None) -> str:
    """ISO 8601 UTC with a trailing ``Z`` (UWS §2.2.1), milliseconds kept; ``""`` for None."""
    if instant is None:
        return ""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def write_job(job: Job, job_url: str) -> bytes:
    """The ``<uws:job>`` document (children in schema order)."""
    root = etree.Element(_q("job"), nsmap=_NSMAP, version=UWS_VERSION)
    _text(root, "jobId", job.job_id)
    if job.run_id is not None:
        _text(root, "runId", job.run_id)
    _nillable(root, "ownerId", job.owner_id)
    _text(root, "phase", job.phase.value)
    _nillable(root, "quote", format_instant(job.quote) or None)
    _text(root, "creationTime", format_instant(job.creation_time))
    _nillable(root, "startTime", format_instant(job.start_time) or None)
    _nillable(root, "endTime", format_instant(job.end_time) or None)
    _text(root, "executionDuration", str(job.execution_duration_s))
    _nillable(root, "destruction", format_instant(job.destruction))
    root.append(_parameters(job, job_url))
    root.append(_results(job, job_url))
    if job.error is not None:
        summary = etree.SubElement(
            root, _q("errorSummary"), type=job.error.type, hasDetail="true" if job.error.has_detail else "false"
        )
        _text(summary, "message", job.error.message)
    return _serialise(root)


def write_job_list(jobs: Sequence[JobRef], list_url: str) -> bytes:
    """The ``<uws:jobs>`` list of ``jobref`` elements."""
    root = etree.Element(_q("jobs"), nsmap=_NSMAP, version=UWS_VERSION)
    base = list_url.rstrip("/")
    for ref in jobs:
        element = etree.SubElement(root, _q("jobref"), id=ref.job_id)
        element.set(f"{{{_XLINK_NS}}}href", f"{base}/{ref.job_id}")
        _text(element, "phase", ref.phase.value)
        if ref.run_id is not None:
            _text(element, "runId", ref.run_id)
        _nillable(element, "ownerId", ref.owner_id)
        _text(element, "creationTime", format_instant(ref.creation_time))
    return _serialise(root)


def write_results(job: Job, job_url: str) -> bytes:
    """The ``<uws:results>`` document (``…/results``)."""
    return _serialise(_results(job, job_url))


def write_parameters(job: Job, job_url: str) -> bytes:
    """The ``<uws:parameters>`` document (``…/parameters``)."""
    return _serialise(_parameters(job, job_url))


def _parameters(job: Job, job_url: str) -> etree._Element:
    element = etree.Element(_q("parameters"), nsmap=_NSMAP)
    for parameter in job.parameters:
        etree.SubElement(element, _q("parameter"), id=_clean(parameter.name)).text = _clean(parameter.value)
    for name in job.upload_files:  # inline files cannot be shown in XML: by reference (UWS §2.1.11)
        by_reference = etree.SubElement(element, _q("parameter"), id=_clean(name), byReference="true")
        by_reference.text = f"{job_url}/parameters/{name}"
    return element


def _results(job: Job, job_url: str) -> etree._Element:
    element = etree.Element(_q("results"), nsmap=_NSMAP)
    if job.result is not None:
        result = etree.SubElement(element, _q("result"), id=RESULT_NAME)
        result.set(f"{{{_XLINK_NS}}}href", f"{job_url}/results/{RESULT_NAME}")
        result.set("size", str(job.result.size))
        result.set("mime-type", job.result.mime_type)
    return element


def _q(name: str) -> str:
    return f"{{{UWS_NS}}}{name}"


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, _q(name))
    child.text = _clean(value)
    return child


def _nillable(parent: etree._Element, name: str, value: str | None) -> None:
    if value is None:
        etree.SubElement(parent, _q(name)).set(f"{{{_XSI_NS}}}nil", "true")
    else:
        _text(parent, name, value)


def _clean(text: str) -> str:
    """Client text that XML 1.0 cannot carry (control characters) is replaced, never an error."""
    return _NOT_XML.sub("\ufffd", text)


def _serialise(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
