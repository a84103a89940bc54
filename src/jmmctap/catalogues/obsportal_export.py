"""ObsPortal's own VOTable exports (``search.votable``) → exposures, to carry an ObsPortal database over.

ObsPortal answers its searches with a VOTable of exposures it has already extracted and validated;
three flavours are known (``obsportal-output-10``, the 2020 ``search.votable`` with validation and
ambient columns, and the 2022 one with units, logs, wavelengths and release dates). Each row
becomes an ``Exposure`` as the header path would have built it, keeping ObsPortal's values: its
projected baselines (a printed Python dict, read with ``ast.literal_eval``, which evaluates
literals only), its validation log, and its ambient conditions. What an export lacks stays NULL and
is said in the log: an export without ``exp_validation_level`` gives level 0, never a guessed 1.

Rows are streamed through the votable2tap reader. A row without an exposure id is rejected with
its number; everything else is kept.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

from jmmctap.catalogues.baselines import Baseline
from jmmctap.catalogues.exposure import Exposure
from jmmctap.catalogues.instrument_modes import InstrumentSetup, load_instrument_modes
from jmmctap.ingest import IngestError, TableSource, open_source
from jmmctap.ingest.model import Row
from jmmctap.ingest.values import stripped

__all__ = ["Rejection", "open_obsportal_export", "read_obsportal_export"]

Rejection = tuple[str, str]
"""(what, why) of a row that cannot become an exposure."""

_REQUIRED = ("exp_id", "exp_mjd_start", "instrument_name", "target_ra", "target_dec")
_NO_LEVEL = "ObsPortal export without exp_validation_level: level unknown"


def open_obsportal_export(path: Path) -> TableSource | None:
    """The file opened as an ObsPortal export (metadata read, rows not yet), or None if it is not one."""
    try:
        with path.open("rb") as stream:
            if b"<VOTABLE" not in stream.read(4096).upper():
                return None
        source = open_source(path)
    except (OSError, IngestError):  # unreadable or not a VOTable: the header readers will say why
        return None
    return source if set(_REQUIRED) <= {f.name for f in source.spec.fields} else None


def read_obsportal_export(source: TableSource) -> Iterator[Exposure | Rejection]:
    """The exposures of an opened ObsPortal export, in file order; rejected rows as (row, reason).

    Raises
    ------
    IngestError
        The file breaks off or is malformed past its metadata.
    """
    name = source.spec.file.name
    index = {f.name: i for i, f in enumerate(source.spec.fields)}
    for number, row in enumerate(source.rows(), start=1):
        cells = _Cells(row, index)
        exp_id = cells.text("exp_id")
        if not exp_id:
            yield (f"{name} row {number}", "no exp_id")
            continue
        yield _exposure(cells, exp_id, f"{name}#{number}")


class _Cells:
    """One row's cells by column name; absent columns and empty cells read as None."""

    def __init__(self, row: Row, index: dict[str, int]) -> None:
        self.row, self.index = row, index

    def text(self, name: str) -> str | None:
        i = self.index.get(name)
        return None if i is None else stripped(self.row[i])

    def number(self, name: str) -> float | None:
        text = self.text(name)
        try:
            return None if text is None else float(text)
        except ValueError:
            return None


def _exposure(cells: _Cells, exp_id: str, source: str) -> Exposure:
    log: list[str] = []
    start, end = cells.number("exp_mjd_start"), cells.number("exp_mjd_end")
    interferometer, instrument = cells.text("interferometer_name"), cells.text("instrument_name")
    return Exposure(
        exp_id=exp_id,
        exp_header_id=cells.text("exp_header") or cells.text("exp_header_id") or exp_id.rsplit("_", 1)[0],
        source=source, mjd_start=start, mjd_end=end,
        exptime_s=None if start is None or end is None else round((end - start) * 86400, 3),
        ra_deg=cells.number("target_ra"), dec_deg=cells.number("target_dec"), target_name=cells.text("target_name"),
        instrument_name=instrument, setup=_setup(cells, interferometer, instrument),
        interferometer_name=interferometer, stations=tuple((cells.text("interferometer_stations") or "").split()),
        telescopes=(), program_id=cells.text("obs_program"), program_pi_coi=cells.text("obs_program_pi_coi"),
        ob_id=None, ob_name=None, ob_target_name=None, tpl_id=None, tpl_start=None, tpl_nexp=None, tpl_expno=None,
        dpr_catg=None, dpr_type=None, dpr_tech=None, obs_type=cells.text("obs_type"),
        tau0_s=cells.number("exp_tau0"), seeing_arcsec=cells.number("exp_seeing"),
        temperature_c=cells.number("exp_temperature"), airmass=None,
        baselines=_baselines(cells.text("exp_projected_baselines"), log),
        validation_log=(*_validation_log(cells), *log),
    )


def _setup(cells: _Cells, interferometer: str | None, instrument: str | None) -> InstrumentSetup | None:
    if not instrument:
        return None
    mode, submode = cells.text("instrument_mode"), cells.text("instrument_submode")
    known = load_instrument_modes().get(((interferometer or "").upper(), instrument.upper(), (mode or "").upper()))
    em_min, em_max, power = (cells.number("instrument_em_min"), cells.number("instrument_em_max"),
                             cells.number("instrument_em_res_power"))
    if known and em_min is None and em_max is None and power is None:
        em_min, em_max, power = known
    return InstrumentSetup(interferometer, instrument, mode, submode, em_min, em_max, power)


def _validation_log(cells: _Cells) -> tuple[str, ...]:
    text = cells.text("exp_validation_log")
    if text:
        try:
            entries = json.loads(text)
        except json.JSONDecodeError:
            entries = [text]
        if isinstance(entries, list) and entries:
            return tuple(str(e) for e in entries)
    level = cells.number("exp_validation_level")
    if level is None:
        return (_NO_LEVEL,)
    return () if level == 1 else (f"ObsPortal validation level {level:g} (no log in the export)",)


def _baselines(text: str | None, log: list[str]) -> tuple[Baseline, ...]:
    """ObsPortal's ``{'U1-U2': {'length': {'start': '55.9', 'end': ...}, 'angle': {...}}, ...}``."""
    if not text:
        return ()
    try:
        pairs = ast.literal_eval(text)
        baselines = []
        for name, value in pairs.items():
            first, second = name.split("-")
            length, angle = value["length"], value["angle"]
            # ObsPortal relays the header's ISS PBL/PBLA values
            baselines.append(Baseline(first, second, _float(length["start"]), _float(length["end"]),
                                      _float(angle["start"]), _float(angle["end"]), "header"))
        return tuple(baselines)
    except (ValueError, SyntaxError, TypeError, KeyError, AttributeError, MemoryError, RecursionError):
        log.append(f"unreadable exp_projected_baselines {text[:60]!r}")
        return ()


def _float(value: object) -> float | None:
    return None if value in (None, "") else float(str(value))
