"""Field of view of an interferometric observation, and the ObsCore region (``s_region``) it covers.

An interferometer sees within the diffraction beam of its telescopes, about lambda / D around the
pointing: the longest wavelength observed over the smallest telescope used. D is taken, in order,
from the file (OI_ARRAY ``DIAMETER`` of the stations used), from the station's telescope in the
shipped Aspro2 configuration (``data/stations.csv``, ``data/telescopes.csv``), from the facility's
smallest telescope (the facility matched by its first word: ``CHARA_2004Jan`` is CHARA), or from
the smallest ``DIAMETER`` of the file's arrays. PIONIER files write ``DIAMETER = 0``: their
stations (A0, K0...) give the 1.8 m of the ATs.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from functools import cache

from jmmctap.catalogues.instrument_modes import load_instrument_modes
from jmmctap.catalogues.stations import DATA_DIR, find_station

__all__ = [
    "circle_polygon",
    "field_of_view_deg",
    "load_telescopes",
    "longest_wavelength_m",
    "telescope_diameter_m",
]

_FIRST_WORD = re.compile(r"[A-Za-z]+")


@cache
def load_telescopes() -> dict[tuple[str, str], float]:
    """(interferometer, telescope type) upper case → diameter in metres."""
    with (DATA_DIR / "telescopes.csv").open(newline="") as handle:
        return {(row["interferometer"].upper(), row["telescope"].upper()): float(row["diameter_m"])
                for row in csv.DictReader(handle)}


def telescope_diameter_m(facility: str | None, stations: Sequence[str], measured: float | None = None,
                         in_file: float | None = None) -> float | None:
    """The smallest telescope diameter of an observation (metres), None when nothing tells it.

    Parameters
    ----------
    facility
        ARRNAME or interferometer name.
    stations
        Station names used.
    measured
        Smallest OI_ARRAY DIAMETER of the stations used (ignored unless positive).
    in_file
        Smallest positive OI_ARRAY DIAMETER of the whole file, the last resort.
    """
    if measured is not None and measured > 0:
        return measured
    interferometer = _interferometer(facility)
    telescopes = load_telescopes()
    if interferometer:
        stations_found = [find_station(interferometer, name) for name in stations]
        found = [None if s is None else telescopes.get((interferometer, s.telescope.upper())) for s in stations_found]
        if found and all(d is not None for d in found):  # every station known: its own telescopes
            return min(d for d in found if d is not None)
        of_facility = [d for (site, _), d in telescopes.items() if site == interferometer]
        if of_facility:
            return min(of_facility)
    return in_file if in_file is not None and in_file > 0 else None


def longest_wavelength_m(facility: str | None, instrument: str | None) -> float | None:
    """The longest wavelength of any mode of an instrument (Aspro2 configuration), for exposures of unknown mode.

    Aspro2 splits some instruments by detector or version (``MATISSE_LM``, ``MATISSE_N``, ``PIONIER_2``):
    they all count.
    """
    interferometer, name = _interferometer(facility), (instrument or "").upper()
    longest = [wave_max for (site, ins, _), (_, wave_max, _) in load_instrument_modes().items()
               if site == interferometer and (ins == name or ins.startswith(name + "_"))]
    return max(longest) if longest else None


def field_of_view_deg(wavelength_m: float | None, diameter_m: float | None) -> float | None:
    """Diameter of the diffraction beam lambda / D, in degrees; None when either is unknown or not positive."""
    if wavelength_m is None or diameter_m is None or wavelength_m <= 0 or diameter_m <= 0:
        return None
    return math.degrees(wavelength_m / diameter_m)


def circle_polygon(ra_deg: float, dec_deg: float, radius_deg: float, vertices: int = 16) -> str:
    """pgSphere polygon literal inscribed in a circle of the sky (ADQL regions are pgSphere polygons here)."""
    lat, lon, radius = math.radians(dec_deg), math.radians(ra_deg), math.radians(radius_deg)
    points = []
    for k in range(vertices):
        bearing = 2 * math.pi * k / vertices
        vertex_lat = math.asin(math.sin(lat) * math.cos(radius)
                               + math.cos(lat) * math.sin(radius) * math.cos(bearing))
        vertex_lon = lon + math.atan2(math.sin(bearing) * math.sin(radius) * math.cos(lat),
                                      math.cos(radius) - math.sin(lat) * math.sin(vertex_lat))
        points.append(f"({math.degrees(vertex_lon) % 360!r}d,{math.degrees(vertex_lat)!r}d)")
    return "{" + ",".join(points) + "}"


def _interferometer(facility: str | None) -> str | None:
    match = _FIRST_WORD.match((facility or "").strip())
    return match.group(0).upper() if match else None
