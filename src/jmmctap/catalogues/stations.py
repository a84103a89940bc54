"""Interferometer stations and sites (VLTI, CHARA), from the shipped Aspro2 configuration extract.

Positions are Aspro's: metres relative to the array centre in the local equatorial frame
(X parallel to the equator in the meridian plane, Y towards east, Z towards the north pole), so a
baseline projects on the sky with the hour angle and declination alone. Source and licence of the
data: ``catalogues/data/README.md``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["DATA_DIR", "Site", "Station", "find_station", "load_sites", "load_stations"]

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Directory of the reference CSV files shipped with the package."""


@dataclass(frozen=True)
class Station:
    """One station of an interferometer."""

    interferometer: str
    name: str
    telescope: str
    x_m: float
    y_m: float
    z_m: float


@dataclass(frozen=True)
class Site:
    """Geocentric position of an array; gives the longitude used for sidereal time."""

    interferometer: str
    x_m: float
    y_m: float
    z_m: float

    @property
    def longitude_deg(self) -> float:
        """East longitude (the geocentric and geodetic longitudes coincide)."""
        return math.degrees(math.atan2(self.y_m, self.x_m))


@cache
def load_stations() -> dict[tuple[str, str], Station]:
    """All shipped stations keyed by (interferometer, station name), both upper case."""
    stations = {}
    with (DATA_DIR / "stations.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            station = Station(row["interferometer"], row["station"], row["telescope"],
                              float(row["rel_x_m"]), float(row["rel_y_m"]), float(row["rel_z_m"]))
            stations[(station.interferometer.upper(), station.name.upper())] = station
    return stations


@cache
def load_sites() -> dict[str, Site]:
    """Array positions keyed by interferometer name (upper case)."""
    with (DATA_DIR / "sites.csv").open(newline="") as handle:
        return {
            row["interferometer"].upper(): Site(row["interferometer"], float(row["geocentric_x_m"]),
                                                float(row["geocentric_y_m"]), float(row["geocentric_z_m"]))
            for row in csv.DictReader(handle)
        }


def find_station(interferometer: str, name: str) -> Station | None:
    """The station ``name`` of ``interferometer``, or None when it is not in the table.

    ESO headers name the unit telescopes' stations U1..U4; Aspro2 names them UT1..UT4.
    """
    key = name.strip().upper()
    if interferometer.upper() == "VLTI" and len(key) == 2 and key[0] == "U" and key[1].isdigit():
        key = f"UT{key[1]}"
    return load_stations().get((interferometer.upper(), key))
