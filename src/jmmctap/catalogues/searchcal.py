"""JSDC rows from SearchCal / GetStar VOTables, streamed, with each value's origin and confidence.

SearchCal (the JSDC pipeline, also JMMC's own JSDC distribution) writes one FIELD per property and
binds it to its ``X.origin`` (catalogue index) and ``X.confidence`` (NO/LOW/MEDIUM/HIGH index) in a
GROUP; a property whose index is the same on every row gets a PARAM instead of a FIELD. Both are
decoded through the file's own ``OriginIndexes`` / ``ConfidenceIndexes`` tables (they differ
between SearchCal versions), so ``jsdc.jsdc_v2`` stores the catalogue name (``I/239/hip_main``,
``computed``) and the confidence word. The II/346 columns are filled from the SearchCal names
(``V`` → ``Vmag``, ``diam_chi2`` → ``LDDCHI``, ``UD_K`` → ``UDDK``); positions become degrees.

Rows come from the votable2tap reader one at a time, so a catalogue-sized file loads in constant
memory. Stars without a computed LDD are skipped: JSDC lists only stars with a diameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jmmctap.catalogues.jsdc import GROUPED_COLUMNS, PLAIN_COLUMNS, TEXT_COLUMNS, column_names
from jmmctap.ingest import IngestError, TableSpec
from jmmctap.ingest.model import InfoSpec, Row
from jmmctap.ingest.positions import checked_angle
from jmmctap.ingest.values import stripped

__all__ = ["SearchCalPlan", "is_searchcal"]

_REQUIRED = ("RAJ2000", "DEJ2000", "LDD", "e_LDD", "diam_chi2", "CalFlag")
_NAMES = (("Name", ""), ("HD", "HD "), ("HIP", "HIP "), ("SIMBAD", ""))
"""Where a star's name comes from, in order of preference, with the prefix it gets."""

Getter = Callable[[Row], object]


def is_searchcal(spec: TableSpec) -> bool:
    """Whether the table is a SearchCal/GetStar output (its diameter chi² property)."""
    return any(f.name == "diam_chi2" for f in spec.fields)


@dataclass(frozen=True)
class SearchCalPlan:
    """How one SearchCal table's FIELDs and PARAMs give the ``jsdc.jsdc_v2`` columns (``column_names()``)."""

    path: Path
    getters: tuple[Getter, ...]
    """One per column after recno, position and name, in ``column_names()`` order."""
    ra: int
    dec: int
    ldd: int
    names: tuple[tuple[int, str], ...]

    @classmethod
    def of(cls, spec: TableSpec) -> SearchCalPlan:
        """The plan for a table's metadata.

        Raises
        ------
        IngestError
            The table lacks a property every JSDC row needs.
        """
        index = {f.name: i for i, f in enumerate(spec.fields)}
        missing = [name for name in _REQUIRED if name not in index]
        if missing:
            raise IngestError(f"not a SearchCal JSDC table (missing {', '.join(missing)})", file=spec.file)
        params = {info.name: info for info in spec.infos if info.kind == "PARAM"}
        origins, confidences = _labels(params.get("OriginIndexes")), _labels(params.get("ConfidenceIndexes"))
        getters: dict[str, Getter] = {}
        for group in GROUPED_COLUMNS:
            value = _value(index, group.searchcal, text=group.column in TEXT_COLUMNS)
            getters[group.column] = value
            if group.error and group.searchcal_error:
                getters[group.error] = _value(index, group.searchcal_error)
            getters[f"{group.column}_origin"] = _decoded(value, _code(index, params, f"{group.searchcal}.origin"),
                                                         origins)
            getters[f"{group.column}_confidence"] = _decoded(
                value, _code(index, params, f"{group.searchcal}.confidence"), confidences)
        for column, source in PLAIN_COLUMNS:
            getters[column] = _value(index, source)
        ordered = tuple(getters.get(c, _none) for c in column_names()[4:])
        names = tuple((index[column], prefix) for column, prefix in _NAMES if column in index)
        return cls(spec.file, ordered, index["RAJ2000"], index["DEJ2000"], index["LDD"], names)

    def rows(self, source_rows: Iterable[Row], first_recno: int) -> Iterator[Row]:
        """The stars with an LDD as ``jsdc.jsdc_v2`` rows, numbered from ``first_recno`` in file order."""
        recno = first_recno
        for number, row in enumerate(source_rows, start=1):
            if row[self.ldd] is None:
                continue
            ra = checked_angle(row[self.ra], hours=True, file=self.path, row=number, column="RAJ2000")
            dec = checked_angle(row[self.dec], hours=False, file=self.path, row=number, column="DEJ2000")
            try:
                values = [get(row) for get in self.getters]
            except ValueError as exc:  # an origin or confidence code that is not a number
                raise IngestError(f"unreadable index code: {exc}", file=self.path, row=number) from None
            yield [recno, self._name(row), ra, dec, *values]
            recno += 1

    def _name(self, row: Row) -> str:
        for i, prefix in self.names:
            value = stripped(row[i])
            if value:
                return f"{prefix}{value}"
        return f"J2000 {row[self.ra]} {row[self.dec]}"


def _labels(param: InfoSpec | None) -> dict[int, str]:
    return {int(code): label for code, label in param.options} if param else {}


def _none(row: Row) -> None:
    return None


def _value(index: dict[str, int], name: str, *, text: bool = False) -> Getter:
    """The property's cell (stripped text or the reader's number text), or always NULL if absent."""
    if name not in index:
        return _none
    i = index[name]
    if text:
        return lambda row: stripped(row[i])
    return lambda row: row[i]


def _code(index: dict[str, int], params: dict[str, InfoSpec], name: str) -> Getter:
    """The property's origin/confidence code: from its FIELD per row, or its PARAM for all rows."""
    if name in index:
        i = index[name]
        return lambda row: None if row[i] is None else int(str(row[i]))
    param = params.get(name)
    text = param.value if param is not None else None
    constant = int(text) if text and text.strip().lstrip("-").isdigit() else None
    return lambda row: constant


def _decoded(value: Getter, code: Getter, labels: dict[int, str]) -> Getter:
    """The label of the code (the number itself when the file's table lacks it); NULL without a value."""
    def get(row: Row) -> str | None:
        if value(row) is None:
            return None
        number = code(row)
        return None if number is None else labels.get(int(str(number)), str(number))
    return get
