"""The output formats: RESPONSEFORMAT/FORMAT values (MIME types and short names) to writers.

The default is VOTable BINARY2 (``votable``, ``application/x-votable+xml``): NULL is exact for every
datatype (flag bits), the document is about half the size of TABLEDATA, it is encoded several times
faster (column-wise in numpy), and every VO client reads it (pyvo/astropy, TOPCAT/STIL, Aspro2).
Clients that process the XML text themselves, like JMMC's OiDB portal (XQuery), ask for
``votable/td`` explicitly and get TABLEDATA.

A request with a full MIME type is answered with that very type (DALI 1.1 §3.4.3); a short name is
answered with the format's declared MIME type. Values are case-insensitive.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from jmmctap.errors import UsageError
from jmmctap.formats.binary import BINARY
from jmmctap.formats.binary2 import BINARY2
from jmmctap.formats.delimited import CsvWriter, DelimitedWriter, TsvWriter
from jmmctap.formats.fits import FitsWriter
from jmmctap.formats.htmltable import HtmlWriter
from jmmctap.formats.jsontable import JsonWriter
from jmmctap.formats.tabledata import TABLEDATA
from jmmctap.formats.votable import VotableWriter
from jmmctap.formats.writer import Writer
from jmmctap.results import RecordBuilder

__all__ = ["DEFAULT", "OutputFormat", "all_formats", "get", "record_builder"]

DEFAULT = "votable"
"""The format used when the request names none: VOTable BINARY2 (see the module docstring)."""

_VOTABLE = "application/x-votable+xml"
_TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt#"


class OutputFormat(NamedTuple):
    """One declared format: TAPRegExt ``outputFormat`` with ``mime``, ``alias`` values and ``ivo-id``.

    A named tuple, so callers may unpack ``(writer, mime, aliases, ivo_id)``.
    """

    writer: Writer
    mime: str
    aliases: tuple[str, ...]
    ivo_id: str | None = None


_FORMATS = (
    OutputFormat(VotableWriter(_VOTABLE, BINARY2), _VOTABLE, ("votable", "votable/b2", "binary2"),
                 _TAPREGEXT + "output-votable-binary2"),
    OutputFormat(VotableWriter(f"{_VOTABLE};serialization=TABLEDATA", TABLEDATA), f"{_VOTABLE};serialization=TABLEDATA",
                 ("votable/td", "tabledata"), _TAPREGEXT + "output-votable-td"),
    OutputFormat(VotableWriter(f"{_VOTABLE};serialization=BINARY", BINARY), f"{_VOTABLE};serialization=BINARY",
                 ("votable/b", "binary"), _TAPREGEXT + "output-votable-binary"),
    OutputFormat(CsvWriter(), "text/csv;header=present", ("csv",)),
    OutputFormat(TsvWriter(), "text/tab-separated-values", ("tsv",)),
    OutputFormat(JsonWriter(), "application/json", ("json",)),
    OutputFormat(HtmlWriter(), "text/html", ("html",)),
    OutputFormat(FitsWriter(), "application/fits", ("fits",)),  # TAPRegExt defines no ivo-id for FITS
)
_BY_ALIAS = {alias: f for f in _FORMATS for alias in f.aliases}
_SERIALIZATIONS = {"binary2": _FORMATS[0], "tabledata": _FORMATS[1], "binary": _FORMATS[2]}
_BY_TYPE = {"text/csv": _FORMATS[3], "text/tab-separated-values": _FORMATS[4], "application/json": _FORMATS[5],
            "text/html": _FORMATS[6], "application/fits": _FORMATS[7]}
_VOTABLE_TYPES = frozenset({_VOTABLE, "text/xml", "application/xml", "application/votable+xml"})


def all_formats() -> list[OutputFormat]:
    """Every output format, the default first (for the VOSI capabilities)."""
    return list(_FORMATS)


def get(value: str) -> Writer:
    """The writer for a RESPONSEFORMAT or FORMAT value.

    Parameters
    ----------
    value
        A MIME type, possibly with parameters (``application/x-votable+xml;serialization=BINARY2``), or a
        short name (``votable``, ``votable/td``, ``csv``…), case-insensitive; empty means :data:`DEFAULT`.

    Returns
    -------
    Writer
        The writer; its ``media_type`` is ``value`` itself when ``value`` is a MIME type.

    Raises
    ------
    UsageError
        The value names no format we write.
    """
    text = value.strip() or DEFAULT
    declared = _BY_ALIAS.get(text.lower())
    if declared is not None:
        return declared.writer
    media_type, _, parameter_text = text.partition(";")
    media_type = media_type.strip().lower()
    parameters = dict(_parameter(p) for p in parameter_text.split(";") if p.strip())
    found = _by_mime(media_type, parameters)
    if found is None:
        raise UsageError(f"unsupported RESPONSEFORMAT {value!r}; supported: {_supported()}")
    return replace(found.writer, media_type=text)  # type: ignore[type-var]


def _by_mime(media_type: str, parameters: dict[str, str]) -> OutputFormat | None:
    if media_type in _VOTABLE_TYPES:
        return _SERIALIZATIONS.get(parameters.get("serialization", "binary2"))
    if media_type == "text/csv" and parameters.get("header", "present") != "present":
        return None  # we always write the header line
    return _BY_TYPE.get(media_type)


def _parameter(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name.strip().lower(), value.strip().strip('"').lower()


def _supported() -> str:
    return ", ".join(f"{f.mime} ({', '.join(f.aliases)})" for f in _FORMATS)


def record_builder(writer: Writer) -> RecordBuilder | None:
    """How PostgreSQL may build ``writer``'s rows (``formats.sqlrecords``, ``formats.sqltext``), or None."""
    return writer.builder if isinstance(writer, VotableWriter | DelimitedWriter) else None
