"""Streaming VOTable reader: metadata with lxml iterparse, rows without materialising the file.

Any VOTable version (1.0–1.5) and namespace, or none: elements are dispatched on local names.
Gzip-compressed files are recognised by their magic bytes. Two passes over the file: the first
reads the metadata up to the selected TABLE's data; the second streams the rows — TABLEDATA through
``iterparse`` filtered on TR (each TR cleared after use), BINARY/BINARY2 through a target parser
whose STREAM text goes to the incremental ``BinaryDecoder``.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree

from jmmctap.ingest.binary import BinaryDecoder
from jmmctap.ingest.columns import normalise_datatype
from jmmctap.ingest.model import FieldSpec, GroupSpec, InfoSpec, IngestError, ReadLimits, Row, TableSpec
from jmmctap.ingest.tabledata_fast import CopyText, tabledata_copy_items
from jmmctap.ingest.values import NULL_FLOAT_TEXTS, CellError, Converter, is_plain_float, text_converter

__all__ = ["VOTableSource", "open_binary", "opened", "read_votable_spec"]

CHUNK_BYTES = 1 << 20
"""Bytes read from the file per parser feed."""

_DATA_KINDS = ("TABLEDATA", "BINARY", "BINARY2", "FITS")


def open_binary(raw: IO[bytes]) -> IO[bytes]:
    """Wrap an opened binary file so that gzip content is decompressed transparently."""
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


@contextmanager
def opened(path: Path) -> Iterator[IO[bytes]]:
    """Open a (possibly gzipped) file for reading; closes everything on exit.

    A damaged or truncated gzip stream, wherever the reading stops, is an ``IngestError`` (readers
    that know the row add it to their own message first).
    """
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise IngestError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    try:
        stream = open_binary(raw)
        yield stream
        stream.close()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise IngestError(f"cannot read the file: {exc}", file=path) from None
    finally:
        raw.close()


class _ScanningReader:
    """File wrapper that notices the deprecated ``<TD encoding="base64">`` before lxml parses it.

    iterparse reads a chunk before reporting its elements, so once ``encoded_cells`` is True every
    later TR may hold encoded cells; before that none did, and rows take the fast path.
    """

    _PATTERN = re.compile(rb"<(?:[\w.-]+:)?TD\b[^>]*\bencoding\s*=")
    _OVERLAP_BYTES = 256

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._tail = b""
        self.encoded_cells = False

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        if not self.encoded_cells and chunk:
            self.encoded_cells = bool(self._PATTERN.search(self._tail + chunk))
            self._tail = chunk[-self._OVERLAP_BYTES:]
        return chunk


def _encoded_cells(element: Any, row: Row, fields: Sequence[FieldSpec], path: Path, row_number: int) -> set[int]:
    """Decode the row's base64 cells in place; return their indexes."""
    done = set()
    for i, td in enumerate(element):
        if td.get("encoding") and i < len(fields):
            if td.get("encoding") != "base64":
                raise IngestError(f"TD encoding {td.get('encoding')!r} is not supported", file=path, row=row_number,
                                  column=fields[i].name)
            try:
                row[i] = _encoded_cell(fields[i], td.text)
            except (CellError, IngestError) as exc:
                raise IngestError(f"invalid base64 cell ({exc})", file=path, row=row_number,
                                  column=fields[i].name) from None
            done.add(i)
    return done


def _encoded_cell(field: FieldSpec, text: str | None) -> object:
    """The value of a ``<TD encoding="base64">`` cell: the field's BINARY form (VOTable 1.1 §5.1)."""
    rows = BinaryDecoder([field], binary2=False, file="").feed(text or "")
    if len(rows) != 1:
        raise CellError("invalid base64 cell")
    return rows[0][0]


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: Any, *names: str) -> list[Any]:
    return [c for c in element if _local(c.tag) in names]


def _description(element: Any) -> str | None:
    for child in _children(element, "DESCRIPTION"):
        text = " ".join("".join(child.itertext()).split())
        return text or None
    return None


def read_votable_spec(path: Path, table_index: int = 0, limits: ReadLimits | None = None) -> TableSpec:
    """Read the metadata of the ``table_index``-th TABLE (document order, nested RESOURCEs included).

    Raises
    ------
    IngestError
        Not XML, not a VOTable, no such table, a table without FIELD, an unknown datatype, an
        unsupported serialization, a damaged gzip stream.
    """
    with opened(path) as stream:
        try:
            table, kind, stream_attrs, root = _find_table(stream, path, table_index, huge=limits is None)
        except etree.XMLSyntaxError as exc:
            raise IngestError(_syntax_message("malformed XML", exc, limits), file=path, row=None) from None
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(f"cannot read the file: {exc}", file=path) from None
    if kind == "FITS":
        raise IngestError("FITS-serialized VOTable data is not supported; ingest the FITS file itself",
                          file=path)
    if stream_attrs.get("href"):
        raise IngestError("remote STREAM (href) data is not supported", file=path)
    encoding = stream_attrs.get("encoding", "base64" if kind in ("BINARY", "BINARY2") else None)
    if kind in ("BINARY", "BINARY2") and encoding != "base64":
        raise IngestError(f"STREAM encoding {encoding!r} is not supported (only base64)", file=path)
    spec = _table_spec(path, table, kind, root)
    if not spec.fields:
        raise IngestError(f"TABLE number {table_index} has no FIELD: there is no column to load", file=path)
    return spec


def _syntax_message(prefix: str, exc: etree.XMLSyntaxError, limits: ReadLimits | None) -> str:
    """The parser's message; libxml2's own size limits (no ``huge_tree``) are said to be ours."""
    text = str(exc)
    if limits is not None and ("Resource limit exceeded" in text or " too big" in text or " too long" in text):
        return f"a cell or other text is larger than the limit of {limits.max_cell_bytes} bytes"
    return f"{prefix}: {text}"


def _find_table(stream: IO[bytes], path: Path, index: int, huge: bool = True) -> tuple[Any, str, dict[str, str], Any]:
    count, target, kind, root = -1, None, "EMPTY", None
    attrs: dict[str, str] = {}
    events = etree.iterparse(stream, events=("start", "end"), huge_tree=huge, remove_comments=True,
                             resolve_entities=False, no_network=True)
    for event, element in events:
        name = _local(element.tag)
        if root is None:
            root = element
            if name != "VOTABLE":
                raise IngestError(f"not a VOTable (root element <{name}>)", file=path)
        if event == "start":
            if name == "TABLE":
                count += 1
                if count == index:
                    target = element
            elif target is not None and name in _DATA_KINDS and element.getparent().getparent() is target:
                kind = name
                if name == "TABLEDATA":
                    break
            elif target is not None and name == "STREAM" and kind in ("BINARY", "BINARY2"):
                attrs = dict(element.attrib)
                break
        elif element is target:
            break
    if target is None:
        found = count + 1
        raise IngestError(f"no TABLE number {index} (the file has {found} table{'s' * (found != 1)})", file=path)
    return target, kind, attrs, root


def _field(element: Any, path: Path, values_by_id: dict[str, str | None] | None = None) -> FieldSpec:
    attrib = element.attrib
    name = attrib.get("name") or attrib.get("ID") or ""
    values = _children(element, "VALUES")
    null = values[0].attrib.get("null") if values else None
    if values and null is None and values[0].attrib.get("ref"):
        null = (values_by_id or {}).get(values[0].attrib["ref"])
    return FieldSpec(
        name=name, datatype=normalise_datatype(attrib.get("datatype"), file=path, column=name),
        arraysize=attrib.get("arraysize") or None, unit=attrib.get("unit") or None,
        ucd=attrib.get("ucd") or None, utype=attrib.get("utype") or None, xtype=attrib.get("xtype") or None,
        description=_description(element), id=attrib.get("ID"), ref=attrib.get("ref"), null=null,
    )


def _infos(element: Any, scope: str, path: Path) -> list[InfoSpec]:
    found = []
    for child in element:
        name = _local(child.tag)
        attrib = child.attrib
        if name == "PARAM":
            options = tuple((o.attrib.get("name", ""), o.attrib.get("value", ""))
                            for values in _children(child, "VALUES") for o in _children(values, "OPTION"))
            found.append(InfoSpec("PARAM", attrib.get("name", ""), attrib.get("value"), scope, _field(child, path),
                                  options=options))
        elif name == "INFO":
            text = " ".join("".join(child.itertext()).split()) or None
            found.append(InfoSpec("INFO", attrib.get("name", ""), attrib.get("value"), scope, content=text))
        elif name in ("COOSYS", "TIMESYS"):
            _check_system(child, name, path)
            value = " ".join(f"{k}={v}" for k, v in attrib.items() if k != "ID")
            found.append(InfoSpec(name, attrib.get("ID", ""), value or None, scope))
    return found


def _check_system(element: Any, name: str, path: Path) -> None:
    """VOTable 1.4 §3.5: TIMESYS needs ID, timescale, refposition and a valid timeorigin (astropy E22-E24)."""
    if name != "TIMESYS":
        return
    attrib = element.attrib
    missing = [a for a in ("ID", "timescale", "refposition") if not attrib.get(a)]
    if missing:
        raise IngestError(f"TIMESYS (line {element.sourceline}) lacks the required {', '.join(missing)}", file=path)
    origin = attrib.get("timeorigin")
    if origin is not None and origin not in ("MJD-origin", "JD-origin"):
        try:
            float(origin)
        except ValueError:
            raise IngestError(f"TIMESYS {attrib['ID']!r}: timeorigin {origin!r} is neither a number,"
                              " MJD-origin nor JD-origin", file=path) from None


def _groups(element: Any, fields: list[FieldSpec], params: dict[str, str],
            parent: str | None = None) -> list[GroupSpec]:
    ids = {f.id for f in fields if f.id}
    found = []
    for group in _children(element, "GROUP"):
        attrib = group.attrib
        field_refs = []
        param_refs = []
        for member in group:
            name = _local(member.tag)
            ref = member.attrib.get("ref", "")
            if name == "FIELDref" and (ref in ids or any(f.name == ref for f in fields)):
                field_refs.append(ref)
            elif name == "PARAMref":
                param_refs.append(params.get(ref, ref))
            elif name == "PARAM":
                param_refs.append(member.attrib.get("name", ""))
        found.append(GroupSpec(name=attrib.get("name"), id=attrib.get("ID"), ucd=attrib.get("ucd"),
                               utype=attrib.get("utype"), description=_description(group),
                               field_refs=tuple(field_refs), param_refs=tuple(param_refs), parent=parent))
        found.extend(_groups(group, fields, params, attrib.get("name") or attrib.get("ID")))
    return found


def _table_spec(path: Path, table: Any, kind: str, root: Any) -> TableSpec:
    values_by_id = {v.attrib["ID"]: v.attrib.get("null") for v in table.iter()
                    if _local(v.tag) == "VALUES" and v.attrib.get("ID")}
    fields = [_field(f, path, values_by_id) for f in _children(table, "FIELD")]
    infos = _infos(table, "TABLE", path)
    description = _description(table)
    ancestor = table.getparent()
    while ancestor is not None:
        scope = "VOTABLE" if _local(ancestor.tag) == "VOTABLE" else "RESOURCE"
        infos.extend(_infos(ancestor, scope, path))
        description = description or _description(ancestor)
        ancestor = ancestor.getparent()
    params = {}
    for element in table.iter():
        if _local(element.tag) == "PARAM" and element.attrib.get("ID"):
            params[element.attrib["ID"]] = element.attrib.get("name", "")
    for element in _children(table, "GROUP"):
        for p in element.iter():
            if _local(p.tag) == "PARAM" and p.getparent() is not table:
                infos.append(InfoSpec("PARAM", p.attrib.get("name", ""), p.attrib.get("value"), "GROUP",
                                      _field(p, path)))
    nrows = table.attrib.get("nrows")
    return TableSpec(
        file=path, fields=tuple(fields), name=table.attrib.get("name"), description=description,
        infos=tuple(infos), groups=tuple(_groups(table, fields, params)), serialization=kind,
        nrows_declared=int(nrows) if nrows and nrows.isdigit() else None, version=root.attrib.get("version"),
    )


@dataclass(frozen=True)
class VOTableSource:
    """A VOTable's selected table: ``spec`` now, ``rows()`` streamed on demand."""

    spec: TableSpec
    table_index: int = 0
    limits: ReadLimits | None = None

    @classmethod
    def open(cls, path: Path, table_index: int = 0, limits: ReadLimits | None = None) -> VOTableSource:
        return cls(read_votable_spec(path, table_index, limits), table_index, limits)

    def rows(self) -> Iterator[Row]:
        """Rows of the table, converted for COPY; errors name file, row and column."""
        if self.spec.serialization == "EMPTY":
            return iter(())
        if self.spec.serialization == "TABLEDATA":
            return self._tabledata_rows()
        return self._binary_rows()

    def copy_items(self) -> Iterator[CopyText | Row]:
        """Like ``rows()``, but TABLEDATA comes as ready COPY text blocks where the fast path applies."""
        if self.spec.serialization != "TABLEDATA":
            yield from self.rows()
            return
        with opened(self.spec.file) as stream:
            yield from tabledata_copy_items(self.spec.file, stream, self.spec.fields, self.table_index,
                                            self._tabledata_rows)

    def _tabledata_rows(self, skip: int = 0) -> Iterator[Row]:
        """Rows through lxml; the first ``skip`` ones (already produced by the fast path) are passed over."""
        path = self.spec.file
        fields = self.spec.fields
        n = len(fields)
        # plain float columns are checked inline (a function call per cell costs ~10 % of the load)
        floats = [i for i, f in enumerate(fields) if is_plain_float(f)]
        converters: list[tuple[int, Converter]] = [
            (i, c) for i, c in enumerate(text_converter(f) for f in fields) if c is not None and i not in floats
        ]
        row_number = 0
        count = -1
        inside = False
        limits = self.limits
        with opened(path) as raw:
            stream = _ScanningReader(raw)
            events = etree.iterparse(stream, events=("start", "end"), tag=("{*}TABLE", "{*}TR"),
                                     huge_tree=limits is None, remove_comments=True, resolve_entities=False,
                                     no_network=True)
            try:
                for event, element in events:
                    if _local(element.tag) == "TABLE":
                        if event == "start":
                            count += 1
                            inside = count == self.table_index
                        elif inside:
                            return
                        continue
                    if event != "end" or not inside:
                        continue
                    row_number += 1
                    if row_number <= skip:
                        _release(element)
                        continue
                    row: Row = [td.text or None for td in element]
                    encoded = _encoded_cells(element, row, fields, path, row_number) if stream.encoded_cells else ()
                    _release(element)
                    if len(row) != n:
                        raise IngestError(f"{len(row)} TD cells where {n} FIELDs are declared", file=path,
                                          row=row_number)
                    if limits is not None:
                        _check_text_row(row, fields, limits, path, row_number)
                    for i in floats:
                        if row[i] in NULL_FLOAT_TEXTS and i not in encoded:
                            row[i] = None
                    for i, convert in converters:
                        value = row[i]
                        if value is not None and i not in encoded:
                            try:
                                row[i] = convert(value)
                            except (CellError, ValueError) as exc:
                                raise IngestError(str(exc), file=path, row=row_number, column=fields[i].name) from None
                    yield row
            except etree.XMLSyntaxError as exc:
                raise IngestError(_syntax_message(f"malformed XML after row {row_number}", exc, limits),
                                  file=path) from None
            except (OSError, EOFError, zlib.error) as exc:
                raise IngestError(f"cannot read the file after row {row_number}: {exc}", file=path) from None

    def _binary_rows(self) -> Iterator[Row]:
        path = self.spec.file
        decoder = BinaryDecoder(self.spec.fields, binary2=self.spec.serialization == "BINARY2", file=str(path),
                                limits=self.limits)
        target = _StreamTarget(self.table_index, decoder)
        # the STREAM text reaches the decoder in pieces (also without huge_tree), which bounds cells and rows
        parser = etree.XMLParser(target=target, huge_tree=self.limits is None, resolve_entities=False,
                                 no_network=True)
        with opened(path) as stream:
            try:
                while not target.done:
                    chunk = stream.read(CHUNK_BYTES)
                    if not chunk:
                        parser.close()
                        break
                    parser.feed(chunk)
                    yield from target.take()
                yield from target.take()
            except etree.XMLSyntaxError as exc:
                raise IngestError(_syntax_message(f"malformed XML after row {decoder.rows_done}", exc, self.limits),
                                  file=path) from None
            except (OSError, EOFError, zlib.error) as exc:
                raise IngestError(f"cannot read the file after row {decoder.rows_done}: {exc}", file=path) from None
        decoder.finish()


def _check_text_row(row: Row, fields: Sequence[FieldSpec], limits: ReadLimits, path: Path, row_number: int) -> None:
    """Cells and row within ``limits``; text is measured in UTF-8 only when its length could be over."""
    total = 0
    for i, value in enumerate(row):
        if isinstance(value, str):
            size = len(value) if len(value) * 4 <= limits.max_cell_bytes else len(value.encode())
        elif isinstance(value, bytes | bytearray):
            size = len(value)
        else:
            continue
        limits.check_cell(size, path, row_number, fields[i].name)
        total += size
    limits.check_row(total, path, row_number)


def _release(element: Any) -> None:
    """Free a parsed TR and its earlier siblings (iterparse keeps the tree otherwise)."""
    element.clear()
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


class _StreamTarget:
    """lxml parser target: forwards the selected table's STREAM text to the decoder."""

    def __init__(self, table_index: int, decoder: BinaryDecoder) -> None:
        self._index = table_index
        self._decoder = decoder
        self._count = -1
        self._in_table = False
        self._in_stream = False
        self._rows: list[Row] = []
        self.done = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = _local(tag)
        if name == "TABLE":
            self._count += 1
            self._in_table = self._count == self._index
        elif name == "STREAM" and self._in_table:
            self._in_stream = True

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name == "STREAM":
            self._in_stream = False
        elif name == "TABLE" and self._in_table:
            self._in_table = False
            self.done = True

    def data(self, text: str) -> None:
        if self._in_stream:
            self._rows.extend(self._decoder.feed(text))

    def comment(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows
