"""HTML table results, a convenience for browsers: one ``<table>`` with the column names as headers.

NULL is an empty cell. After the rows, a paragraph tells an overflow (MAXREC cut rows) or an error
that happened after the first byte. The page is ASCII (other characters as references).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from jmmctap.formats.cells import compile_cells
from jmmctap.formats.writer import Ending, ResultInfo, encode_stream
from jmmctap.formats.xmltext import escape_text, needs_escape, to_ascii
from jmmctap.results import ResultColumn, ResultStream, Row

__all__ = ["HtmlWriter"]


@dataclass(frozen=True)
class HtmlWriter:
    """The HTML table writer."""

    media_type: str = "text/html"

    def check(self, columns: Sequence[ResultColumn]) -> None:
        """Nothing to refuse: every value has a text form."""

    def write(self, stream: ResultStream, info: ResultInfo) -> AsyncIterator[bytes]:
        """An HTML page with the rows of ``stream`` in one table."""
        return self._generate(stream, info)

    async def _generate(self, stream: ResultStream, info: ResultInfo) -> AsyncIterator[bytes]:
        converters = [compile_cells(c) for c in stream.columns]
        query = info.query if info.query is not None else stream.query
        titles = "".join(f"<th>{escape_text(c.name)}</th>" for c in stream.columns)
        yield to_ascii(
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"/><title>Query result</title></head><body>\n'
            f"<pre>{escape_text(query)}</pre>\n<table>\n<thead><tr>{titles}</tr></thead>\n<tbody>\n"
        )
        template = "<tr>" + "<td>{}</td>" * len(converters) + "</tr>\n"

        def encode(rows: Sequence[Row]) -> bytes:
            columns = zip(*rows, strict=True)
            cells = [_escaped(convert(values)) for convert, values in zip(converters, columns, strict=True)]
            return to_ascii("".join(map(template.format, *cells)))

        async with aclosing(encode_stream(stream, encode)) as chunks:
            async for chunk in chunks:
                if not isinstance(chunk, Ending):
                    yield chunk
                    continue
                note = {"OK": "", "OVERFLOW": "<p>The result was cut at MAXREC rows.</p>\n"}.get(chunk.status)
                if note is None:
                    note = f"<p>Error: {escape_text(chunk.message)}</p>\n"
                yield to_ascii(f"</tbody>\n</table>\n{note}</body></html>\n")


def _escaped(cells: list[str]) -> list[str]:
    if needs_escape("".join(cells)):
        return [escape_text(c) for c in cells]
    return cells
