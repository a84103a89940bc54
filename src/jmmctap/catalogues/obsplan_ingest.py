"""The ``ingest-plan`` service: Aspro2 OB exports → the planned observations of ``ivoa.obsplan``.

All or nothing: every file is read and checked first, and one bad file refuses the call (``UsageError``
naming each file and problem) before anything is written. The rows are then upserted by obs_id in one
transaction; t_planning (ObsLocTAP: when the observation entered or last changed in the plan) is the
transaction's time for new and changed rows, and unchanged ones keep theirs. ``replace`` makes the files
the whole plan: planned rows they do not name are deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from jmmctap.catalogues.all_or_nothing import read_all_or_refuse
from jmmctap.catalogues.aspro_obx import PlannedObservation, read_obx
from jmmctap.catalogues.eso_ingest import record_ingest
from jmmctap.catalogues.obscore_l0 import L0_COLLECTIONS
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["PlanIngestReport", "ingest_plan_files"]


@dataclass(frozen=True)
class PlanIngestReport:
    """Outcome of one ``ingest_plan_files`` call (obs_ids)."""

    inserted: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]

    def summary(self) -> str:
        return (f"plan: {len(self.inserted)} new, {len(self.updated)} changed, {len(self.unchanged)} unchanged"
                f" planned observations, {len(self.removed)} removed")


_UPSERT = """
INSERT INTO obsportal.planned_observations AS p (obs_id, t_planning, target_name, obs_collection, s_ra, s_dec,
    t_min, t_max, em_min, em_max, em_res_power, facility_name, instrument_name, instrument_mode,
    interferometer_stations, category, priority, tracking_type, source)
VALUES (%(obs_id)s, extract(epoch FROM now())::double precision / 86400 + 40587, %(target_name)s,
    %(obs_collection)s, %(s_ra)s, %(s_dec)s, %(t_min)s, %(t_max)s, %(em_min)s, %(em_max)s, %(em_res_power)s,
    %(facility_name)s, %(instrument_name)s, %(instrument_mode)s, %(stations)s, %(category)s, %(priority)s,
    'Sidereal', %(source)s)
ON CONFLICT (obs_id) DO UPDATE SET t_planning = excluded.t_planning, target_name = excluded.target_name,
    obs_collection = excluded.obs_collection, s_ra = excluded.s_ra, s_dec = excluded.s_dec,
    t_min = excluded.t_min, t_max = excluded.t_max, em_min = excluded.em_min, em_max = excluded.em_max,
    em_res_power = excluded.em_res_power, facility_name = excluded.facility_name,
    instrument_name = excluded.instrument_name, instrument_mode = excluded.instrument_mode,
    interferometer_stations = excluded.interferometer_stations, category = excluded.category,
    priority = excluded.priority, source = excluded.source
WHERE (p.target_name, p.obs_collection, p.s_ra, p.s_dec, p.t_min, p.t_max, p.em_min, p.em_max, p.em_res_power,
       p.facility_name, p.instrument_name, p.instrument_mode, p.interferometer_stations, p.category, p.priority,
       p.source)
      IS DISTINCT FROM
      (excluded.target_name, excluded.obs_collection, excluded.s_ra, excluded.s_dec, excluded.t_min,
       excluded.t_max, excluded.em_min, excluded.em_max, excluded.em_res_power, excluded.facility_name,
       excluded.instrument_name, excluded.instrument_mode, excluded.interferometer_stations, excluded.category,
       excluded.priority, excluded.source)
RETURNING (xmax = 0) AS inserted
"""


def ingest_plan_files(conn: psycopg.Connection[Any], paths: Sequence[Path], replace: bool = False) -> PlanIngestReport:
    """Check every OB export of ``paths``, then store them as planned observations in one transaction.

    Parameters
    ----------
    conn
        Connection of the owner role.
    paths
        Aspro2 OB exports (``.obx``), one OB each.
    replace
        Delete the planned observations the files do not name (the files are the whole plan).

    Raises
    ------
    UsageError
        A file is unreadable or not a valid OB export, or two files hold the same OB; nothing is written.
    """
    started = datetime.now(UTC)
    planned: list[PlannedObservation] = read_all_or_refuse(
        paths, lambda path: [read_obx(path)], lambda o: o.obs_id, lambda o: o.source, what="plan", same="OB")
    outcome: dict[bool | None, list[str]] = {True: [], False: [], None: []}
    with conn.transaction():
        for observation in planned:
            row = conn.execute(_UPSERT, _values(observation)).fetchone()
            outcome[None if row is None else bool(row[0])].append(observation.obs_id)
        removed: list[str] = []
        if replace:
            removed = [r[0] for r in conn.execute(
                "DELETE FROM obsportal.planned_observations WHERE NOT (obs_id = ANY(%s)) RETURNING obs_id",
                [[o.obs_id for o in planned]]).fetchall()]
        record_ingest(conn, "ivoa.obsplan", paths, len(outcome[True]) + len(outcome[False]), started)
        refresh_row_counts(conn, ["ivoa.obsplan"])
    return PlanIngestReport(tuple(outcome[True]), tuple(outcome[False]), tuple(outcome[None]), tuple(sorted(removed)))


def _values(observation: PlannedObservation) -> dict[str, object]:
    return {
        "obs_id": observation.obs_id, "target_name": observation.target_name,
        # the collection its L0 granules will join once executed
        "obs_collection": L0_COLLECTIONS.get(observation.facility_name),
        "s_ra": observation.s_ra, "s_dec": observation.s_dec, "t_min": observation.t_min,
        "t_max": observation.t_max, "em_min": observation.em_min, "em_max": observation.em_max,
        "em_res_power": observation.em_res_power, "facility_name": observation.facility_name,
        "instrument_name": observation.instrument_name, "instrument_mode": observation.instrument_mode,
        "stations": observation.stations, "category": observation.category, "priority": observation.priority,
        "source": observation.source,
    }
