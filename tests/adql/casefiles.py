"""Reader of the table-driven case files in tests/adql/cases, and the Python oracle helpers."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CASES_DIR = Path(__file__).parent / "cases"
_KEYS = ("ADQL", "SQL", "ROWS", "ORDERED", "ERROR", "AT")


@dataclass
class Case:
    """One block of a case file."""

    file: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def read_cases(name: str) -> list[Case]:
    """Blocks separated by blank lines; ``KEY: value`` lines, indented lines continue ADQL."""
    cases: list[Case] = []
    current: Case | None = None
    key = ""
    for number, raw in enumerate((CASES_DIR / name).read_text().splitlines(), 1):
        if raw.startswith("#"):
            continue
        if not raw.strip() and not raw.startswith("ADQL:"):
            current = None
            continue
        head, _, rest = raw.partition(":")
        if head in _KEYS and (current is None or head != "ADQL"):
            if current is None:
                current = Case(name, number)
                cases.append(current)
            key = head
            current.fields[key] = rest.strip() if key != "ADQL" else rest.lstrip()
        elif current is not None:
            current.fields[key] += "\n" + raw
    return cases


# -- oracle helpers (plain Python / numpy, independent of PostgreSQL and pgsphere) -------------


def _vector(ra: float, dec: float) -> np.ndarray:
    a, d = math.radians(ra), math.radians(dec)
    return np.array([math.cos(d) * math.cos(a), math.cos(d) * math.sin(a), math.sin(d)])


def dist(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance in degrees (haversine)."""
    a1, d1, a2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((a2 - a1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def in_triangle(ra: float, dec: float, *vertices: tuple[float, float]) -> bool:
    """Inside a small spherical polygon with great-circle edges (same side of every edge)."""
    p = _vector(ra, dec)
    v = [_vector(*x) for x in vertices]
    signs = [np.dot(np.cross(v[i], v[(i + 1) % len(v)]), p) for i in range(len(v))]
    return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)


def in_box(ra: float, dec: float, lon: float, lat: float, width: float, height: float) -> bool:
    """ADQL 2.1 §4.2.9 BOX: in the frame centred on the box, |l| <= w/2 and |tan b| <= tan(h/2) cos l."""
    x, y, z = _vector(ra - lon, dec)
    c, s = math.cos(math.radians(lat)), math.sin(math.radians(lat))
    x, z = x * c + z * s, -x * s + z * c
    lon_, b = math.atan2(y, x), math.asin(max(-1.0, min(1.0, z)))
    half_height = math.tan(math.radians(height) / 2)
    return abs(lon_) <= math.radians(width) / 2 and abs(math.tan(b)) <= half_height * math.cos(lon_)


def f32(x: float) -> float:
    return float(np.float32(x))


def oracle_namespace(points: list[Any]) -> dict[str, Any]:
    return {"POINTS": points, "math": math, "datetime": datetime, "dist": dist, "in_triangle": in_triangle,
            "in_box": in_box, "f32": f32}


def values_match(expected: Any, actual: Any, tolerance: float = 1e-6) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, (list, tuple)):
        return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                and all(values_match(e, a, tolerance) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected == actual)
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, (int, float)) and abs(actual - expected) <= tolerance * max(1.0, abs(expected))
    return bool(expected == actual)


def rows_match(expected: list[tuple[Any, ...]], actual: list[tuple[Any, ...]], ordered: bool) -> bool:
    if len(expected) != len(actual):
        return False
    if ordered:
        return all(values_match(e, a) for e, a in zip(expected, actual, strict=True))
    remaining = list(actual)
    for row in expected:
        for i, candidate in enumerate(remaining):
            if values_match(row, candidate):
                del remaining[i]
                break
        else:
            return False
    return True
