"""Checks of constant polygons at translation, so a user's mistake is a clear 400, not an opaque pgsphere error.

pgsphere refuses a polygon with fewer than three distinct vertices, an edge between opposite points
or edges that cross or overlap, with an internal error the client cannot read. Polygons computed
from columns are only known when the query runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jmmctap.adql.scope import error_at

__all__ = ["MAX_CHECKED_VERTICES", "MAX_VERTICES", "check_polygon", "check_vertex_count"]

MAX_VERTICES = 1024
"""pgsphere's largest polygon (MAX_POINTS)."""

MAX_CHECKED_VERTICES = 300
"""Edge crossings are looked for up to this many vertices (the test is quadratic)."""

_EPSILON = 1e-12
_Vector = tuple[float, float, float]


def _vector(lon: float, lat: float) -> _Vector:
    a, d = math.radians(lon), math.radians(lat)
    return (math.cos(d) * math.cos(a), math.cos(d) * math.sin(a), math.sin(d))


def _cross(u: _Vector, v: _Vector) -> _Vector:
    return (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])


def _dot(u: _Vector, v: _Vector) -> float:
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def _on_arc(x: _Vector, a: _Vector, b: _Vector, normal: _Vector) -> bool:
    """Whether x (on the great circle of a and b) lies on the shorter arc from a to b, ends included."""
    return _dot(_cross(a, x), normal) >= -_EPSILON and _dot(_cross(x, b), normal) >= -_EPSILON


def _arcs_meet(a: _Vector, b: _Vector, c: _Vector, d: _Vector) -> bool:
    """Whether two edges that share no vertex have a point in common."""
    n1, n2 = _cross(a, b), _cross(c, d)
    line = _cross(n1, n2)
    size = math.sqrt(_dot(line, line))
    if size < _EPSILON:  # one great circle: overlap if an end of one arc lies inside the other
        return any(_on_arc(x, a, b, n1) for x in (c, d)) or any(_on_arc(x, c, d, n2) for x in (a, b))
    for sign in (1.0, -1.0):
        x = (sign * line[0] / size, sign * line[1] / size, sign * line[2] / size)
        if _on_arc(x, a, b, n1) and _on_arc(x, c, d, n2):
            return True
    return False


def _tangent(u: _Vector, v: _Vector) -> _Vector:
    """The direction from v towards u, in the plane tangent at v."""
    k = _dot(u, v)
    return (u[0] - k * v[0], u[1] - k * v[1], u[2] - k * v[2])


def _turns_back(u: _Vector, v: _Vector, w: _Vector) -> bool:
    """Whether the edge v→w goes back along the edge u→v (the two overlap)."""
    t1, t2 = _tangent(u, v), _tangent(w, v)
    crossed = _cross(t1, t2)
    return _dot(t1, t2) > 0 and math.sqrt(_dot(crossed, crossed)) < _EPSILON * 1e3


def check_vertex_count(count: int, line: int, column: int) -> None:
    """Refuse a polygon larger than pgsphere takes (constant or not, the count is known at translation)."""
    if count > MAX_VERTICES:
        raise error_at(f"this POLYGON has {count} vertices; at most {MAX_VERTICES} are supported", line, column)


def check_polygon(vertices: Sequence[tuple[float, float]], line: int, column: int) -> None:
    """Raise an AdqlError naming what is wrong with a polygon of constant (lon, lat) vertices in degrees."""
    points = [_vector(lon, lat) for lon, lat in vertices]
    distinct: list[_Vector] = []
    for point in points:
        if not distinct or 1 - _dot(point, distinct[-1]) > _EPSILON:
            distinct.append(point)
    while len(distinct) > 1 and 1 - _dot(distinct[0], distinct[-1]) <= _EPSILON:
        distinct.pop()
    if len(distinct) < 3:
        raise error_at("a POLYGON needs at least three distinct vertices", line, column)
    count = len(distinct)
    for i in range(count):
        if 1 + _dot(distinct[i], distinct[(i + 1) % count]) <= _EPSILON:
            raise error_at("two consecutive POLYGON vertices are opposite points: the edge between them is"
                           " undefined", line, column)
    if count > MAX_CHECKED_VERTICES:
        return
    edges = [(distinct[i], distinct[(i + 1) % count]) for i in range(count)]
    for i in range(count):
        if _turns_back(edges[i - 1][0], edges[i][0], edges[i][1]):
            raise error_at("two consecutive POLYGON edges overlap: the polygon folds back on itself", line, column)
        for j in range(i + 2, count - (1 if i == 0 else 0)):
            if _arcs_meet(*edges[i], *edges[j]):
                raise error_at("POLYGON edges cross each other: list the vertices in order around the boundary",
                               line, column)
