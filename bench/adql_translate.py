"""ADQL translation micro-benchmark: median time per typical query, a ~10 kB query, 50 nested subqueries.

No database needed: the TAP_SCHEMA is built in memory. Targets (issue 4): under 1 ms for typical
queries, under 50 ms for a 10 kB query, and a result or a clean error for 50 levels of nesting.

    .venv/bin/python bench/adql_translate.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from jmmctap.adql import translate
from jmmctap.adql.parser import parse
from jmmctap.errors import AdqlError
from jmmctap.tapschema import Column, Schema, Table, TapSchema


def _table(name: str, columns: list[tuple[str, str, str | None]]) -> Table:
    return Table(name.split(".")[0], name, columns=tuple(
        Column(name, c, datatype, arraysize="*" if datatype == "char" else None, unit=unit)
        for c, datatype, unit in columns))


TAP_SCHEMA = TapSchema(
    (Schema("cat"), Schema("obs")),
    (
        _table("cat.stars", [("id", "long", None), ("name", "char", None), ("ra", "double", "deg"),
                             ("dec", "double", "deg"), ("vmag", "float", "mag"), ("sptype", "char", None),
                             ("plx", "double", "mas"), ("flags", "int", None)]),
        _table("obs.obslog", [("exp_id", "long", None), ("star_id", "long", None), ("instrument", "char", None),
                           ("ra", "double", "deg"), ("dec", "double", "deg"), ("mjd", "double", "d"),
                           ("exptime", "float", "s"), ("target", "char", None)]),
    ),
)

TYPICAL = {
    "top": "SELECT TOP 100 * FROM cat.stars",
    "cone": "SELECT id, name, ra, dec FROM cat.stars WHERE 1 = CONTAINS(POINT('ICRS', ra, dec),"
            " CIRCLE('ICRS', 83.82, -5.39, 0.5))",
    "distance": "SELECT id, DISTANCE(POINT(ra, dec), POINT(83.82, -5.39)) AS d FROM cat.stars"
                " WHERE DISTANCE(POINT(ra, dec), POINT(83.82, -5.39)) < 0.1 ORDER BY d",
    "crossmatch": "SELECT s.id, l.exp_id FROM cat.stars AS s JOIN obs.obslog AS l"
                  " ON DISTANCE(s.ra, s.dec, l.ra, l.dec) < 2.0 / 3600 WHERE l.instrument = 'GRAVITY'",
    "aggregate": "SELECT instrument, COUNT(*) AS n, AVG(exptime) AS t FROM obs.obslog WHERE mjd > 59000"
                 " GROUP BY instrument HAVING COUNT(*) > 10 ORDER BY n DESC",
    "subquery": "SELECT name FROM cat.stars WHERE id IN (SELECT star_id FROM obs.obslog WHERE target LIKE 'HD%')",
    "union": "SELECT id FROM cat.stars WHERE vmag < 2 UNION SELECT star_id FROM obs.obslog WHERE exptime > 100",
    "with": "WITH b AS (SELECT id FROM cat.stars WHERE vmag < 3) SELECT l.* FROM obs.obslog AS l JOIN b"
            " ON b.id = l.star_id",
}


def _big_query(size: int = 10_000) -> str:
    conditions = []
    i = 0
    while sum(len(c) + 4 for c in conditions) < size - 200:
        conditions.append(f"(s.flags = {i} AND s.vmag BETWEEN {i * 0.1:.1f} AND {i * 0.1 + 1:.1f}"
                          f" AND s.name LIKE 'HD {i}%')")
        i += 1
    return "SELECT s.id, s.name, s.ra, s.dec FROM cat.stars AS s WHERE " + " OR ".join(conditions)


def _nested(depth: int) -> str:
    query = "SELECT id FROM cat.stars WHERE vmag < 1"
    for _ in range(depth):
        query = f"SELECT id FROM cat.stars WHERE id IN ({query})"
    return query


def _median_ms(function: Callable[[], object], repeat: int) -> float:
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    print(f"{'query':<12} {'translate ms':>12} {'of which parse':>15}")
    medians = []
    for name, adql in TYPICAL.items():
        total = _median_ms(lambda adql=adql: translate(adql, TAP_SCHEMA), args.repeat)  # type: ignore[misc]
        parsing = _median_ms(lambda adql=adql: parse(adql), args.repeat)  # type: ignore[misc]
        medians.append(total)
        print(f"{name:<12} {total:>12.3f} {parsing:>15.3f}")
    print(f"{'median':<12} {statistics.median(medians):>12.3f}")
    big = _big_query()
    print(f"10 kB query ({len(big)} characters): {_median_ms(lambda: translate(big, TAP_SCHEMA), 20):.2f} ms")
    nested = _nested(50)
    start = time.perf_counter()
    try:
        outcome = f"translated ({len(translate(nested, TAP_SCHEMA).sql)} characters of SQL)"
    except AdqlError as exc:
        outcome = f"AdqlError: {exc.message}"
    print(f"50 nested subqueries: {outcome} in {(time.perf_counter() - start) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
