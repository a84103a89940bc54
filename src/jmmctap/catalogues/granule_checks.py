"""Implausible values of an OIFITS granule: reported by the ingest and stored as NULL, not as facts.

Files carry values no observation can have: PIONIER's early pipeline wrote INT_TIME values of days
(1.6e6 s), some writers INT_TIME = 0, positions outside the sphere. The granule keeps what the file
says (``oifits`` reproduces oitools); these checks decide what ``ivoa.obscore`` may state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jmmctap.catalogues.oifits import Granule

__all__ = ["MAX_EXPOSURE_S", "Doubt", "implausible_values"]

MAX_EXPOSURE_S = 15 * 3600.0
"""Longest plausible integration of one record, seconds. A granule is one night, and from sunset to sunrise
lasts at most about 14.2 h at the interferometers' latitudes (VLTI -24.6°, CHARA +34.2°, NPOI +35.1°)."""


@dataclass(frozen=True)
class Doubt:
    """One implausible value: the ObsCore columns stored as NULL because of it, and why."""

    columns: tuple[str, ...]
    reason: str


def implausible_values(granule: Granule) -> tuple[Doubt, ...]:
    """The implausible values of a granule (empty when all are plausible)."""
    doubts = []
    exptime = granule.t_exptime
    if not math.isfinite(exptime) or exptime <= 0:
        doubts.append(Doubt(("t_exptime",), f"t_exptime = {exptime:g} s is not a positive integration time"))
    elif exptime > MAX_EXPOSURE_S:
        doubts.append(Doubt(("t_exptime",), f"t_exptime = {exptime:.4g} s is longer than a night"
                                            f" ({MAX_EXPOSURE_S / 3600:g} h)"))
    if not (math.isfinite(granule.em_min) and math.isfinite(granule.em_max)) or granule.em_min <= 0:
        doubts.append(Doubt(("em_min", "em_max"), f"EFF_WAVE from {granule.em_min:g} m to {granule.em_max:g} m"
                                                  " is not a wavelength range"))
    elif granule.em_min > granule.em_max:
        doubts.append(Doubt(("em_min", "em_max"), f"em_min = {granule.em_min:g} m > em_max = {granule.em_max:g} m"))
    ra, dec = granule.s_ra, granule.s_dec
    if not (math.isfinite(ra) and math.isfinite(dec) and 0 <= ra < 360 and -90 <= dec <= 90):
        doubts.append(Doubt(("s_ra", "s_dec"), f"RAEP0/DECEP0 = {ra:g}/{dec:g} deg is not a position on the sky"))
    return tuple(doubts)
