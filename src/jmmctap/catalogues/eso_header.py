"""Read ESO exposure headers: raw-header dumps, FITS primary HDUs, ESO archive query tables.

Every reader yields ``HeaderSource`` values: a name (file, or file#row) and the keywords as a
mapping ``{name: value}`` where HIERARCH keywords are named as astropy names them
(``ESO ISS CONF NTEL``, ``ESO OBS PROG ID``). Three inputs are recognised:

- a text dump of a header (80-character cards, one per line, as written by
  ``Header.tostring(sep='\\n')`` or the ESO archive's ``.hdr`` files, or without separators);
- a FITS file (its primary header: raw frames and OIFITS products alike);
- an ESO archive query result table (CSV with a ``DP.ID`` column, e.g. from astroquery): one
  header per row, its columns mapped onto the equivalent keywords.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits

from jmmctap.errors import UsageError

__all__ = ["ARCHIVE_COLUMNS", "HeaderSource", "parse_header_text", "read_headers"]

ARCHIVE_COLUMNS: Mapping[str, str] = {
    "DP.ID": "DP.ID",
    "Object": "OBJECT",
    "RA": "RA",
    "DEC": "DEC",
    "ProgId": "ESO OBS PROG ID",
    "OB.ID": "ESO OBS ID",
    "DPR.CATG": "ESO DPR CATG",
    "DPR.TYPE": "ESO DPR TYPE",
    "DPR.TECH": "ESO DPR TECH",
    "ISS.CONF.STATION1": "ESO ISS CONF STATION1",
    "ISS.CONF.STATION2": "ESO ISS CONF STATION2",
    "ISS.CONF.STATION3": "ESO ISS CONF STATION3",
    "ISS.CONF.STATION4": "ESO ISS CONF STATION4",
    "INS.MODE": "ESO INS MODE",
    "Exptime": "EXPTIME",
    "MJD-OBS": "MJD-OBS",
}
"""ESO archive query columns (as astroquery.eso names them) → header keyword they report."""

_NUMERIC = {"RA", "DEC", "ESO OBS ID", "EXPTIME", "MJD-OBS"}
_FITS_SIGNATURE = b"SIMPLE  ="
_CARD = 80


@dataclass(frozen=True)
class HeaderSource:
    """The keywords of one exposure header and where they come from."""

    name: str
    keywords: Mapping[str, object] = field(repr=False)
    notes: tuple[str, ...] = ()


def read_headers(path: Path) -> list[HeaderSource]:
    """Read the exposure header(s) in ``path``.

    Raises
    ------
    UsageError
        The file cannot be read or is none of the recognised formats.
    """
    try:
        head = path.read_bytes()[:2 * _CARD]
    except OSError as exc:
        raise UsageError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    if head.startswith(_FITS_SIGNATURE):
        if b"\n" in head[:_CARD + 1] or not _is_fits_file(path):
            return [HeaderSource(path.name, _keywords(_header_from_text(path)))]
        return [HeaderSource(path.name, _keywords(_primary_header(path)))]
    return list(_archive_rows(path))


def parse_header_text(name: str, text: str) -> HeaderSource:
    """The keywords of a header given as text, one card a line (the ESO archive's header service).

    Raises
    ------
    UsageError
        The text holds no readable FITS header.
    """
    cards = [line.rstrip() for line in text.splitlines() if line.strip()]
    end = next((i for i, line in enumerate(cards) if line == "END"), len(cards))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            header = fits.Header.fromstring("\n".join(cards[:end]), sep="\n")
    except (ValueError, IndexError) as exc:
        raise UsageError(f"{name}: not a readable FITS header: {exc}") from None
    if not len(header):
        raise UsageError(f"{name}: not a readable FITS header: no keyword")
    return HeaderSource(name, _keywords(header))


def _is_fits_file(path: Path) -> bool:
    # a FITS file is a whole number of 2880-byte records; a separator-less dump usually is not
    return path.stat().st_size % 2880 == 0


def _header_from_text(path: Path) -> fits.Header:
    text = path.read_text(encoding="ascii", errors="replace")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            if "\n" in text:
                return fits.Header.fromstring(text, sep="\n")
            return fits.Header.fromstring(text)
    except (ValueError, IndexError) as exc:
        raise UsageError(f"{path.name}: not a readable FITS header dump: {exc}") from None


def _primary_header(path: Path) -> fits.Header:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
                return hdus[0].header.copy()
    except (OSError, ValueError, IndexError) as exc:
        raise UsageError(f"{path.name}: not a readable FITS file: {exc}") from None


def _keywords(header: fits.Header) -> dict[str, object]:
    keywords: dict[str, object] = {}
    for card in header.cards:
        key = card.keyword
        if key in ("", "COMMENT", "HISTORY", "END") or key in keywords:
            continue
        value = card.value
        keywords[key] = value.strip() if isinstance(value, str) else value
    return keywords


def _archive_rows(path: Path) -> Iterator[HeaderSource]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path.name}: neither a FITS header nor an ESO archive table: {exc}") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if not reader.fieldnames or "DP.ID" not in reader.fieldnames:
        raise UsageError(f"{path.name}: neither a FITS header nor an ESO archive table (no DP.ID column)")
    for number, row in enumerate(reader, start=1):
        keywords: dict[str, object] = {}
        for column, keyword in ARCHIVE_COLUMNS.items():
            raw = (row.get(column) or "").strip()
            if raw:
                keywords[keyword] = _number(raw) if keyword in _NUMERIC else raw
        yield HeaderSource(f"{path.name}#{number}", keywords, ("ESO archive query row",))


def _number(raw: str) -> object:
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw
