"""The oitools reference granules (shared/data/oifits/ref_granules/*.csv) and their comparison rule.

Tolerance: every floating-point field must agree with the reference to a relative 1e-12 (the
references print Java doubles; EFF_WAVE values are single precision widened to double on both
sides, so they agree exactly); text and integer fields must be equal. An empty facility_name in
the reference is a granule without ARRNAME (stored as NULL).

Stored rows (``stored_differences``) differ from the references in two ways since issue 16, both
because the old stored value was wrong: the INSNAME is in ``instrument_mode`` (``instrument_name``
is the instrument, e.g. PIONIER), and an implausible t_exptime (the 1.6e6 s of the 2012-03-24
PIONIER file, the 0 s of GRAVITY_SC and of the 2008 contest file) is stored as NULL.
"""

from __future__ import annotations

import math
from pathlib import Path

from jmmctap.catalogues.granule_checks import MAX_EXPOSURE_S
from tests.catalogues.conftest import OIFITS_DIR

REFERENCE_DIR = OIFITS_DIR / "ref_granules"
TEXT_FIELDS = ("target_name", "facility_name", "instrument_name")
INTEGER_FIELDS = ("nb_vis", "nb_vis2", "nb_t3", "nb_channels")
RELATIVE_TOLERANCE = 1e-12


def reference_files() -> list[Path]:
    return sorted(REFERENCE_DIR.glob("*.csv"))


def read_reference(path: Path) -> list[dict[str, str]]:
    lines = [line.rstrip("\n") for line in path.read_text().splitlines() if not line.startswith("#")]
    header = [name for name in lines[0].split("\t") if name]
    return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:] if line.strip()]


def product_of(reference: Path) -> Path:
    return OIFITS_DIR / reference.name.removesuffix(".csv")


def differences(expected: dict[str, str], actual: dict[str, object]) -> list[str]:
    """Field-by-field differences between a reference row and a granule (empty when equal)."""
    found = []
    for name, text in expected.items():
        value = actual[name]
        if name in TEXT_FIELDS:
            ok = (value or "") == text
        elif name in INTEGER_FIELDS:
            ok = value == int(text)
        else:
            ok = isinstance(value, float) and math.isclose(value, float(text), rel_tol=RELATIVE_TOLERANCE,
                                                           abs_tol=0.0 if float(text) else 1e-300)
        if not ok:
            found.append(f"{name}: expected {text!r}, got {value!r}")
    return found


def key(row: dict[str, object]) -> tuple[str, str, float]:
    return str(row["target_name"]), str(row["instrument_name"]), round(float(str(row["t_min"])), 6)


def stored_differences(expected: dict[str, str], row: dict[str, object]) -> list[str]:
    """``differences`` for a stored ivoa.obscore row: INSNAME in instrument_mode, implausible t_exptime NULL."""
    found = differences({k: v for k, v in expected.items() if k != "t_exptime"},
                        {**row, "instrument_name": row["instrument_mode"]})
    exptime = float(expected["t_exptime"])
    if not 0 < exptime <= MAX_EXPOSURE_S:
        if row["t_exptime"] is not None:
            found.append(f"t_exptime: implausible {exptime!r} stored as {row['t_exptime']!r}, not NULL")
    else:
        found += differences({"t_exptime": expected["t_exptime"]}, row)
    return found


def stored_key(row: dict[str, object]) -> tuple[str, str, float]:
    return key({**row, "instrument_name": row["instrument_mode"]})
