"""VOTable 1.4 result documents (DALI 1.1 §4.4): the skeleton shared by every serialization, and errors.

::

    <VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
     <RESOURCE type="results">
      <INFO name="QUERY_STATUS" value="OK"/>   then QUERY, request_date, standardID, server_software INFOs
      <TABLE> <FIELD …/>… <DATA> serialization </DATA> </TABLE>
      <INFO name="QUERY_STATUS" value="OVERFLOW|ERROR">…</INFO>   only when MAXREC cut rows or the query failed
     </RESOURCE>
     <RESOURCE type="meta" utype="adhoc:service">…</RESOURCE>   DataLink descriptor, when the ID column is there
    </VOTABLE>

pyvo takes the last ``QUERY_STATUS`` of the results RESOURCE (``DALResults._findstatusinfo``), so the
trailing INFO overrides the leading ``OK``. Documents are pure ASCII (non-ASCII text as character
references), which is what ``application/x-votable+xml`` without ``charset`` implies (VOTable §8).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Protocol

from jmmctap.formats.writer import Ending, ResultInfo, ServiceDescriptor, encode_stream
from jmmctap.formats.xmltext import escape_attribute, escape_text, to_ascii
from jmmctap.results import RecordBuilder, ResultColumn, ResultStream, Row

__all__ = ["VOTABLE_NS", "Body", "Serialization", "VotableWriter", "field_ids", "write_error"]

VOTABLE_NS = "http://www.ivoa.net/xml/VOTable/v1.3"
"""Namespace of VOTable 1.3 to 1.5 documents."""

_PROLOGUE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<VOTABLE version="1.4" xmlns="{VOTABLE_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    f' xsi:schemaLocation="{VOTABLE_NS} http://www.ivoa.net/xml/VOTable/v1.4">\n'
    '<RESOURCE type="results">\n'
)
_EPILOGUE = "</RESOURCE>\n</VOTABLE>\n"
_FIELD_ATTRIBUTES = ("datatype", "arraysize", "unit", "ucd", "utype", "xtype")
_EXTRA_ATTRIBUTES = ("width", "precision")  # ResultColumn.extra keys written as FIELD attributes
_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_.-]")
_NAME_START = re.compile(r"[A-Za-z_]")


class Body(Protocol):
    """The DATA of one document being written: rows to bytes, with state across chunks (base64 carry)."""

    def encode(self, rows: Sequence[Row]) -> bytes:
        """Bytes of these rows."""
        ...

    def finish(self) -> bytes:
        """Bytes still held back at the end of the rows."""
        ...


class Serialization(Protocol):
    """One VOTable DATA serialization (TABLEDATA, BINARY, BINARY2)."""

    @property
    def element(self) -> str:
        """The DATA child: ``TABLEDATA``, ``BINARY`` or ``BINARY2``."""
        ...

    @property
    def builder(self) -> RecordBuilder | None:
        """How PostgreSQL may build this serialization's records (``formats.sqlrecords``), or None."""
        ...

    def start(self, columns: Sequence[ResultColumn], *, built: bool = False) -> Body:
        """A body encoder for these (declared) columns, of records PostgreSQL built if ``built``;
        raises ``UsageError`` for a column it cannot write."""
        ...

    def declare(self, column: ResultColumn) -> ResultColumn:
        """The FIELD this serialization writes for a result column (the same values, maybe another datatype)."""
        ...

    def field_content(self, column: ResultColumn) -> str:
        """Extra FIELD children after DESCRIPTION (BINARY: ``<VALUES null=…/>``), or ``''``."""
        ...


@dataclass(frozen=True)
class VotableWriter:
    """A VOTable result writer for one serialization."""

    media_type: str
    serialization: Serialization

    def check(self, columns: Sequence[ResultColumn]) -> None:
        """Raise ``UsageError`` if a column cannot be written in this serialization (before any query runs)."""
        self.serialization.start(self._declared(columns))

    def write(self, stream: ResultStream, info: ResultInfo) -> AsyncIterator[bytes]:
        """The VOTable document of ``stream`` (see the module docstring)."""
        columns = self._declared(stream.columns)
        body = self.serialization.start(columns, built=stream.records)
        return self._generate(stream, info, columns, body)

    @property
    def builder(self) -> RecordBuilder | None:
        """The serialization's ``RecordBuilder``: the query layer asks PostgreSQL for built records with it."""
        return self.serialization.builder

    def _declared(self, columns: Sequence[ResultColumn]) -> list[ResultColumn]:
        return [self.serialization.declare(_without_unit_arraysize(c)) for c in columns]

    async def _generate(self, stream: ResultStream, info: ResultInfo, columns: Sequence[ResultColumn],
                        body: Body) -> AsyncIterator[bytes]:
        element = self.serialization.element
        services = _services(info.services, columns)
        yield to_ascii(_header(stream, columns, info, self.serialization.field_content) + _open_data(element))
        async with aclosing(encode_stream(stream, body.encode)) as chunks:
            async for chunk in chunks:
                if isinstance(chunk, Ending):
                    yield body.finish() + to_ascii(_close_data(element) + _trailer(chunk, services))
                else:
                    yield chunk


def write_error(message: str, *, query: str | None = None) -> bytes:
    """The DALI 1.1 §4.2 error document: ``QUERY_STATUS=ERROR`` with the message, no TABLE.

    Parameters
    ----------
    message
        Human-readable text of the error (TAP §3.3: the INFO content).
    query
        The query text, echoed as an INFO when given.

    Returns
    -------
    bytes
        An ASCII VOTable 1.4 document.
    """
    infos = _info("QUERY_STATUS", "ERROR", message or "error")
    if query is not None:
        infos += _info("QUERY", query)
    return to_ascii(_PROLOGUE + infos + _EPILOGUE)


def field_ids(columns: Sequence[ResultColumn]) -> list[str]:
    """Unique XML IDs (NCNames): the column name itself when it is one, else with odd characters as ``_``.

    astropy names table columns after the IDs by default, hence IDs as close to the names as possible.
    """
    ids: list[str] = []
    seen: set[str] = set()
    for column in columns:
        base = _NOT_NAME_CHAR.sub("_", column.name.strip('"'))
        if not _NAME_START.match(base):
            base = "_" + base
        candidate, suffix = base, 1
        while candidate in seen:
            suffix += 1
            candidate = f"{base}_{suffix}"
        seen.add(candidate)
        ids.append(candidate)
    return ids


def _without_unit_arraysize(column: ResultColumn) -> ResultColumn:
    """``arraysize="1"`` is a scalar, written without it (deprecated since VOTable 1.3 Erratum 3; taplint YAR1)."""
    return replace(column, arraysize=None) if column.arraysize == "1" else column


def _header(stream: ResultStream, columns: Sequence[ResultColumn], info: ResultInfo,
            field_content: Callable[[ResultColumn], str]) -> str:
    parts = [_PROLOGUE, _info("QUERY_STATUS", "OK")]
    query = info.query if info.query is not None else stream.query
    if query:  # a DataLink {links} response answers IDs, not a query
        parts.append(_info("QUERY", query))
    if info.request_time is not None:
        moment = info.request_time.astimezone(UTC) if info.request_time.tzinfo else info.request_time
        parts.append(_info("request_date", moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"))
    if info.standard_id:
        parts.append(_info("standardID", info.standard_id))
    parts.append(_info("server_software", f"{info.service_name} {info.service_version}"))
    parts.extend(_info(name, value) for name, value in info.extra)
    parts.append("<TABLE>\n")
    ids = field_ids(columns)
    parts.extend(_field(column, id_, field_content(column)) for column, id_ in zip(columns, ids, strict=True))
    return "".join(parts)


def _field(column: ResultColumn, id_: str, content: str) -> str:
    attributes = [f'name="{escape_attribute(column.name)}"', f'ID="{id_}"']
    for name in _FIELD_ATTRIBUTES:
        value = getattr(column, name)
        if value:
            attributes.append(f'{name}="{escape_attribute(value)}"')
    for name in _EXTRA_ATTRIBUTES:
        if column.extra.get(name):
            attributes.append(f'{name}="{escape_attribute(column.extra[name])}"')
    if column.description:
        content = f"<DESCRIPTION>{escape_text(column.description)}</DESCRIPTION>" + content
    if not content:
        return f"<FIELD {' '.join(attributes)}/>\n"
    return f"<FIELD {' '.join(attributes)}>{content}</FIELD>\n"


def _open_data(element: str) -> str:
    if element == "TABLEDATA":
        return "<DATA><TABLEDATA>\n"
    return f'<DATA><{element}><STREAM encoding="base64">\n'


def _close_data(element: str) -> str:
    if element == "TABLEDATA":
        return "</TABLEDATA></DATA>\n</TABLE>\n"
    return f"</STREAM></{element}></DATA>\n</TABLE>\n"


def _trailer(ending: Ending, services: str = "") -> str:
    epilogue = f"</RESOURCE>\n{services}</VOTABLE>\n"
    if ending.status == "OK":
        return epilogue
    message = ending.message or ("rows cut at MAXREC" if ending.status == "OVERFLOW" else "error")
    return _info("QUERY_STATUS", ending.status, message) + epilogue


def _services(services: Sequence[ServiceDescriptor], columns: Sequence[ResultColumn]) -> str:
    """The ``adhoc:service`` RESOURCEs of the services whose input column is in the result (DataLink 1.1 §4).

    Their ID parameter refers to the column's FIELD by its ID (``ref``): pyvo's ``iter_datalinks`` and
    TOPCAT's activation actions read each row's value from there.
    """
    by_name = {c.name.strip('"').lower(): id_ for c, id_ in zip(columns, field_ids(columns), strict=True)}
    parts = []
    for service in services:
        ref = by_name.get(service.input_column.lower())
        if ref is None:
            continue
        description = f"<DESCRIPTION>{escape_text(service.description)}</DESCRIPTION>\n" if service.description else ""
        parts.append(
            '<RESOURCE type="meta" utype="adhoc:service">\n' + description
            + _param("standardID", service.standard_id) + _param("accessURL", service.access_url)
            + '<GROUP name="inputParams">\n'
            + _param(service.input_param, "", ref=ref, ucd="meta.id;meta.main")
            + "</GROUP>\n</RESOURCE>\n")
    return "".join(parts)


def _param(name: str, value: str, *, ref: str | None = None, ucd: str | None = None) -> str:
    extra = (f' ucd="{escape_attribute(ucd)}"' if ucd else "") + (f' ref="{escape_attribute(ref)}"' if ref else "")
    return (f'<PARAM name="{escape_attribute(name)}" datatype="char" arraysize="*"'
            f' value="{escape_attribute(value)}"{extra}/>\n')


def _info(name: str, value: str, content: str = "") -> str:
    start = f'<INFO name="{escape_attribute(name)}" value="{escape_attribute(value)}"'
    return f"{start}>{escape_text(content)}</INFO>\n" if content else f"{start}/>\n"
