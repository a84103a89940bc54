"""Read an OIFITS (v1 or v2) file into ObsCore granules, as OiDB does with oitools' OIFitsViewer.

One granule per (OI_TARGET row, INSNAME, night) that has data rows, where the night is the MJD
rounded to the nearest integer (oitools ``OIData.getNightId``). For each granule:
target_name/s_ra/s_dec from OI_TARGET (TARGET, RAEP0, DECEP0); instrument_name = INSNAME (as
oitools; ``obscore_store`` stores it as instrument_mode and names the instrument);
nb_channels, em_min, em_max from OI_WAVELENGTH (EFF_WAVE is single precision, kept as such);
em_res_power = mean of EFF_WAVE/EFF_BAND over the channels; t_min/t_max = extreme MJD and
t_exptime = the *smallest* INT_TIME of the matching rows of OI_VIS, OI_VIS2, OI_T3 and OI_FLUX;
nb_vis/nb_vis2/nb_t3 = matching rows of each table (OI_FLUX rows are not counted);
facility_name = ARRNAME of the first matching table that has one.

A file is rejected (``OifitsError``) when it is not readable FITS, has no single OI_TARGET, no
data table, a data table without its OI_WAVELENGTH or mandatory columns, OIFITS 2 tables
(OI_CORR, OI_INSPOL) in a version 1 file, or an INSNAME in several OI_INSPOL tables (OIFITS 2
§7.3). Non-standard extensions (e.g. the pre-standard OI_SPECTRUM) are skipped, as oitools does.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from jmmctap.errors import OifitsError  # defined with every public error; re-exported here

__all__ = ["DATA_TABLES", "Granule", "OifitsError", "OifitsProduct", "read_oifits"]

DATA_TABLES = ("OI_VIS", "OI_VIS2", "OI_T3", "OI_FLUX")
"""Extensions holding measurements; granules are made of their rows."""

_COUNTED = {"OI_VIS": "nb_vis", "OI_VIS2": "nb_vis2", "OI_T3": "nb_t3"}
_V2_ONLY = ("OI_CORR", "OI_INSPOL")
_REQUIRED_COLUMNS = ("TARGET_ID", "MJD", "INT_TIME")


@dataclass(frozen=True)
class Granule:
    """The metadata of one (target, INSNAME, night) granule."""

    target_name: str
    s_ra: float
    s_dec: float
    t_exptime: float
    t_min: float
    t_max: float
    em_res_power: float | None
    em_min: float
    em_max: float
    facility_name: str
    instrument_name: str
    nb_vis: int
    nb_vis2: int
    nb_t3: int
    nb_channels: int
    stations: tuple[str, ...]
    night_id: int
    min_diameter_m: float | None = None  # smallest telescope of the granule (OI_ARRAY DIAMETER)


@dataclass(frozen=True)
class OifitsProduct:
    """An OIFITS file: its identity, OIFITS version, primary keywords and granules."""

    name: str
    size_bytes: int
    md5: str
    version: int
    primary: Mapping[str, object]
    granules: tuple[Granule, ...]
    array_diameter_m: float | None = None  # smallest positive DIAMETER of the file's OI_ARRAY tables
    problems: tuple[str, ...] = ()
    """Violations of the standard that still leave granules computable, kept when ``read_oifits(tolerate=True)``."""


@dataclass(frozen=True)
class _Table:
    extname: str
    header: fits.Header
    data: Any

    def keyword(self, key: str) -> str | None:
        value = self.header.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None


def read_oifits(path: Path, *, tolerate: bool = False) -> OifitsProduct:
    """Check an OIFITS file and compute its granules.

    With ``tolerate`` (OiDB grants published L3 data even if the validator finds errors), the violations
    that leave the granules computable (OIFITS 2 tables in a version 1 file, an INSNAME in several
    OI_INSPOL tables) are returned in ``OifitsProduct.problems`` instead of raised.

    Raises
    ------
    OifitsError
        The file is unreadable or violates one of the rules listed in the module docstring.
    """
    content = _read_bytes(path)
    primary, tables = _load(path)
    version = 2 if str(primary.get("CONTENT", "")).strip().upper() == "OIFITS2" else 1
    structural = _problems(tables)
    tolerable = _tolerable_problems(tables, version)
    if structural or (tolerable and not tolerate):
        raise OifitsError(f"{path.name}: invalid OIFITS: " + "; ".join(tolerable + structural))
    return OifitsProduct(path.name, len(content), hashlib.md5(content).hexdigest(), version, primary,
                         tuple(_granules(tables)), _smallest_diameter(tables), tuple(tolerable))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OifitsError(f"{path.name}: cannot read: {exc.strerror or exc}") from None


def _load(path: Path) -> tuple[dict[str, object], list[_Table]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy warns on the malformed files it then refuses
            with fits.open(path, memmap=False) as hdus:
                primary = {card.keyword: card.value for card in hdus[0].header.cards
                           if card.keyword not in ("", "COMMENT", "HISTORY")}
                tables = [_Table(str(hdu.header.get("EXTNAME", "")).strip().upper(), hdu.header.copy(), hdu.data)
                          for hdu in hdus[1:] if isinstance(hdu, fits.BinTableHDU)]
    except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise OifitsError(f"{path.name}: not a readable FITS file: {exc}") from None
    return primary, tables


def _tolerable_problems(tables: list[_Table], version: int) -> list[str]:
    names = [t.extname for t in tables]
    problems = []
    if version == 1:
        problems += [f"{name} table in an OIFITS version 1 file (CONTENT is not OIFITS2)"
                     for name in _V2_ONLY if name in names]
    return problems + _inspol_problems(tables)


def _problems(tables: list[_Table]) -> list[str]:
    """Violations that leave no granule to compute."""
    names = [t.extname for t in tables]
    problems = []
    if names.count("OI_TARGET") != 1:
        problems.append(f"{names.count('OI_TARGET')} OI_TARGET tables (exactly 1 required)")
    if not any(name in DATA_TABLES for name in names):
        problems.append("no data table (OI_VIS, OI_VIS2, OI_T3 or OI_FLUX)")
    wavelengths = {t.keyword("INSNAME") for t in tables if t.extname == "OI_WAVELENGTH"}
    for index, table in enumerate(tables, start=1):
        if table.extname not in DATA_TABLES:
            continue
        if table.keyword("INSNAME") not in wavelengths:
            problems.append(f"{table.extname} #{index}: no OI_WAVELENGTH for INSNAME={table.keyword('INSNAME')!r}")
        missing = [c for c in _REQUIRED_COLUMNS if table.data is None or c not in table.data.columns.names]
        if missing:
            problems.append(f"{table.extname} #{index}: missing column(s) {', '.join(missing)}")
    return problems


def _inspol_problems(tables: list[_Table]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for index, table in enumerate(t for t in tables if t.extname == "OI_INSPOL"):
        if table.data is None or "INSNAME" not in table.data.columns.names:
            continue
        for insname in sorted({str(v).strip() for v in table.data["INSNAME"]}):
            if insname in seen and seen[insname] != index:
                problems.append(f"INSNAME {insname!r} in several OI_INSPOL tables")
            seen.setdefault(insname, index)
    return sorted(set(problems))


def _granules(tables: list[_Table]) -> list[Granule]:
    target = next(t for t in tables if t.extname == "OI_TARGET")
    wavelengths = {t.keyword("INSNAME"): t for t in tables if t.extname == "OI_WAVELENGTH"}
    data = [t for t in tables if t.extname in DATA_TABLES]
    arrays = {t.keyword("ARRNAME"): t for t in tables if t.extname == "OI_ARRAY"}
    granules = []
    for row in range(len(target.data)):
        target_id = int(target.data["TARGET_ID"][row])
        for insname in sorted(name for name in wavelengths if name is not None):
            matching = [t for t in data if t.keyword("INSNAME") == insname]
            for night in _nights(matching, target_id):
                granules.append(_granule(target.data[row], wavelengths[insname], matching, target_id, night, arrays))
    return granules


def _nights(tables: list[_Table], target_id: int) -> list[int]:
    nights: dict[int, None] = {}
    for table in tables:
        selected = np.asarray(table.data["TARGET_ID"]) == target_id
        for night in _night_ids(table)[selected]:
            nights.setdefault(int(night), None)
    return list(nights)


def _night_ids(table: _Table) -> Any:
    # oitools: Math.round(MJD), i.e. floor(MJD + 0.5)
    return np.floor(np.asarray(table.data["MJD"], dtype=np.float64) + 0.5).astype(np.int64)


def _granule(target: Any, wavelength: _Table, tables: list[_Table], target_id: int, night: int,
             arrays: Mapping[str | None, _Table]) -> Granule:
    counts = {"nb_vis": 0, "nb_vis2": 0, "nb_t3": 0}
    mjds, int_times, stations, facility = [], [], {}, ""
    diameters: list[float] = []
    for table in tables:
        rows = (np.asarray(table.data["TARGET_ID"]) == target_id) & (_night_ids(table) == night)
        if not rows.any():
            continue
        if table.extname in _COUNTED:
            counts[_COUNTED[table.extname]] += int(rows.sum())
        mjds.append(np.asarray(table.data["MJD"], dtype=np.float64)[rows])
        int_times.append(np.asarray(table.data["INT_TIME"], dtype=np.float64)[rows])
        used = _stations(table, rows, arrays)
        stations.update({index: name for index, (name, _) in used.items()})
        diameters += [diameter for _, diameter in used.values() if diameter > 0]
        if not facility and table.keyword("ARRNAME"):
            facility = table.keyword("ARRNAME") or ""
    eff_wave = np.asarray(wavelength.data["EFF_WAVE"], dtype=np.float32).astype(np.float64)
    all_mjd = np.concatenate(mjds)
    return Granule(
        target_name=str(target["TARGET"]).strip(), s_ra=float(target["RAEP0"]), s_dec=float(target["DECEP0"]),
        t_exptime=float(np.concatenate(int_times).min()), t_min=float(all_mjd.min()), t_max=float(all_mjd.max()),
        em_res_power=_resolution(wavelength), em_min=float(eff_wave.min()), em_max=float(eff_wave.max()),
        facility_name=facility, instrument_name=wavelength.keyword("INSNAME") or "", nb_channels=len(eff_wave),
        stations=tuple(name for _, name in sorted(stations.items())), night_id=night,
        min_diameter_m=min(diameters) if diameters else None, **counts,
    )


def _smallest_diameter(tables: list[_Table]) -> float | None:
    diameters = [float(d) for t in tables if t.extname == "OI_ARRAY" and t.data is not None
                 and "DIAMETER" in t.data.columns.names for d in t.data["DIAMETER"]]
    positive = [d for d in diameters if np.isfinite(d) and d > 0]
    return min(positive) if positive else None


def _resolution(wavelength: _Table) -> float | None:
    # oitools OIWavelength.getResolution: mean of the finite, positive EFF_WAVE / EFF_BAND
    wave = np.asarray(wavelength.data["EFF_WAVE"], dtype=np.float32).astype(np.float64)
    band = np.asarray(wavelength.data["EFF_BAND"], dtype=np.float32).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = wave / band
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    return float(ratio.mean()) if ratio.size else None


def _stations(table: _Table, rows: Any, arrays: Mapping[str | None, _Table]) -> dict[int, tuple[str, float]]:
    """STA_INDEX → (STA_NAME, DIAMETER) of the stations used by the selected rows."""
    array = arrays.get(table.keyword("ARRNAME"))
    if array is None or array.data is None or "STA_INDEX" not in table.data.columns.names:
        return {}
    diameters = array.data["DIAMETER"] if "DIAMETER" in array.data.columns.names else [0.0] * len(array.data)
    known = {int(i): (str(n).strip(), float(d))
             for i, n, d in zip(array.data["STA_INDEX"], array.data["STA_NAME"], diameters, strict=False)}
    used = np.unique(np.asarray(table.data["STA_INDEX"])[rows])
    return {int(i): known[int(i)] for i in used if int(i) in known}
