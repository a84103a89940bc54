"""The OIFITS submission report as an HTML page, for browsers (``Accept: text/html``)."""

from __future__ import annotations

from html import escape

from jmmctap.submissions.oifits_submit import FileOutcome, SubmissionReport

__all__ = ["render_report_html"]


def render_report_html(report: SubmissionReport) -> str:
    """A self-contained page: the outcome, then per file its status, errors, warnings and granules."""
    if report.refused:
        outcome = "Refused: a file is not valid OIFITS, so nothing was stored."
    elif report.changed:
        outcome = "Stored."
    else:
        outcome = "Nothing changed: every file was already in the collection."
    items = "\n".join(_file_html(f) for f in report.files)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>OIFITS submission</title></head>\n"
        f"<body><h1>OIFITS submission to {escape(report.collection)}</h1>\n"
        f"<p>{escape(outcome)} Data PI: {escape(report.datapi)}; calibration level {report.calib_level}.</p>\n"
        f"{items}\n</body></html>\n"
    )


def _file_html(outcome: FileOutcome) -> str:
    check = outcome.check
    version = f"OIFITS version {check.version}" if check.version else "not OIFITS"
    parts = [f"<section><h2>{escape(check.name)}: {escape(outcome.status)}</h2>",
             f"<p>{escape(version)}, {check.stored.size_bytes} bytes, SHA-256 {check.stored.sha256}</p>"]
    for title, lines in (("Errors", check.errors), ("Warnings", check.warnings)):
        if lines:
            parts.append(f"<h3>{title}</h3><ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
    if outcome.granule_ids:
        parts.append("<p>Granules: " + ", ".join(str(i) for i in outcome.granule_ids) + "</p>")
    if outcome.access_url:
        url = escape(outcome.access_url)
        parts.append(f"<p>File: <a href=\"{url}\">{url}</a></p>")
    return "\n".join(parts) + "</section>"
