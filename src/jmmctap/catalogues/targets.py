"""Target identification by position: group exposures into targets, link targets to JSDC stars.

ESO pointings of one star scatter by arcseconds and target names are not standardised, so an
exposure joins the closest existing target whose centre lies within ``radius`` of its pointing,
or founds a new target there. Targets are never renumbered: grouping is incremental (exposures
without a target only), and a target's centre is the mean of its exposures' pointings. The result
depends on the order exposures arrive in (oldest first) only for pointings closer than twice the
radius to two targets, which is what the radius is chosen to avoid.

Each target is then linked to the closest ``jsdc.jsdc_v2`` star within the same radius;
``jsdc_match`` is ``ambiguous`` when several stars lie within it (the closest is still linked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

__all__ = ["DEFAULT_RADIUS_ARCSEC", "GroupingReport", "group_exposures", "link_targets_to_jsdc"]

DEFAULT_RADIUS_ARCSEC = 5.0
"""Grouping and JSDC matching radius, arcseconds (the 5" BadCal/JSDC matching radius of spica-nss)."""

_NEAREST_TARGET = """
    SELECT target_id FROM obsportal.targets
    WHERE spoint(radians(target_ra), radians(target_dec)) @ scircle(spoint(radians(%(ra)s), radians(%(dec)s)),
                                                                   radians(%(radius)s / 3600.0))
    ORDER BY spoint(radians(target_ra), radians(target_dec)) <-> spoint(radians(%(ra)s), radians(%(dec)s))
    LIMIT 1"""

_RECENTRE = """
    UPDATE obsportal.targets t
    SET target_ra = mod((degrees(atan2(m.y, m.x)) + 360)::numeric, 360)::double precision,
        target_dec = degrees(atan2(m.z, sqrt(m.x * m.x + m.y * m.y))), n_exposures = m.n
    FROM (SELECT target_id, count(*) AS n,
                 avg(cos(radians(target_dec)) * cos(radians(target_ra))) AS x,
                 avg(cos(radians(target_dec)) * sin(radians(target_ra))) AS y,
                 avg(sin(radians(target_dec))) AS z
          FROM obsportal.exposures WHERE target_id = ANY(%s) GROUP BY target_id) m
    WHERE t.target_id = m.target_id"""

_LINK_JSDC = """
    UPDATE obsportal.targets t
    SET jsdc_recno = m.recno, jsdc_separation = m.separation, jsdc_candidates = coalesce(m.n, 0),
        jsdc_match = CASE WHEN m.n > 1 THEN 'ambiguous' WHEN m.n = 1 THEN 'unique' END
    FROM (SELECT o.target_id, c.recno, c.separation, c.n
          FROM obsportal.targets o
          LEFT JOIN LATERAL (
              SELECT j.recno,
                     degrees(spoint(radians(j."RAJ2000"), radians(j."DEJ2000"))
                             <-> spoint(radians(o.target_ra), radians(o.target_dec))) * 3600 AS separation,
                     count(*) OVER () AS n
              FROM jsdc.jsdc_v2 j
              WHERE spoint(radians(j."RAJ2000"), radians(j."DEJ2000"))
                    @ scircle(spoint(radians(o.target_ra), radians(o.target_dec)), radians(%(radius)s / 3600.0))
              ORDER BY separation, j.recno
              LIMIT 1) c ON true) m
    WHERE t.target_id = m.target_id
      AND (t.jsdc_recno, t.jsdc_separation, t.jsdc_candidates, t.jsdc_match)
          IS DISTINCT FROM (m.recno, m.separation, coalesce(m.n, 0),
                            CASE WHEN m.n > 1 THEN 'ambiguous' WHEN m.n = 1 THEN 'unique' END)"""


@dataclass(frozen=True)
class GroupingReport:
    """What one grouping pass did."""

    assigned: int
    new_targets: int
    linked: int


def group_exposures(conn: psycopg.Connection[Any], radius_arcsec: float = DEFAULT_RADIUS_ARCSEC) -> GroupingReport:
    """Give every exposure with a known pointing a target, then refresh the JSDC links.

    Runs in the caller's transaction.
    """
    pending = conn.execute(
        """SELECT exp_id, target_ra, target_dec, target_name FROM obsportal.exposures
           WHERE target_id IS NULL AND target_ra IS NOT NULL AND target_dec IS NOT NULL
           ORDER BY exp_mjd_start NULLS LAST, exp_id"""
    ).fetchall()
    touched: set[int] = set()
    created = 0
    for exp_id, ra, dec, name in pending:
        row = conn.execute(_NEAREST_TARGET, {"ra": ra, "dec": dec, "radius": radius_arcsec}).fetchone()
        if row is None:
            row = conn.execute(
                "INSERT INTO obsportal.targets (target_name, target_ra, target_dec) VALUES (%s, %s, %s)"
                " RETURNING target_id", [name, ra, dec],
            ).fetchone()
            created += 1
        assert row is not None
        conn.execute("UPDATE obsportal.exposures SET target_id = %s WHERE exp_id = %s", [row[0], exp_id])
        touched.add(int(row[0]))
    if touched:
        conn.execute(_RECENTRE, [sorted(touched)])
    conn.execute("DELETE FROM obsportal.targets t WHERE NOT EXISTS"
                 " (SELECT 1 FROM obsportal.exposures e WHERE e.target_id = t.target_id)")
    return GroupingReport(len(pending), created, link_targets_to_jsdc(conn, radius_arcsec))


def link_targets_to_jsdc(conn: psycopg.Connection[Any], radius_arcsec: float = DEFAULT_RADIUS_ARCSEC) -> int:
    """Link every target to its closest JSDC star within the radius; returns the rows changed.

    Call it again after (re)loading ``jsdc.jsdc_v2``. Does nothing while that table does not exist.
    """
    exists = conn.execute("SELECT to_regclass('jsdc.jsdc_v2') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    return conn.execute(_LINK_JSDC, {"radius": radius_arcsec}).rowcount
