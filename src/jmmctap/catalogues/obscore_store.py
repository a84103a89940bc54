"""Storage of OIFITS granules in ``ivoa.obscore`` (calibration levels 1 to 3).

A granule is identified by (obs_collection, obs_id, calib_level, target_name, instrument_name,
night): re-ingesting a file updates its granules in place, keeping their ``id`` and
``obs_publisher_did`` (``ivo://jmmc.fr/oidb?<id>``) and their submission date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from jmmctap.catalogues.embargo import Embargo, rights_for
from jmmctap.catalogues.oifits import Granule, OifitsProduct

__all__ = [
    "OIFITS_MIME_TYPE",
    "PUBLISHER_DID_PREFIX",
    "GranuleOptions",
    "circle_polygon",
    "granule_values",
    "next_granule_id",
    "upsert_granules",
]

PUBLISHER_DID_PREFIX = "ivo://jmmc.fr/oidb?"
"""obs_publisher_did of a granule is this prefix followed by its id."""

OIFITS_MIME_TYPE = "application/x-oifits"
"""access_format of OIFITS files (no registered type; ObsCore §4.7 asks for application/x-...)."""


@dataclass(frozen=True)
class GranuleOptions:
    """What the submitter says about the files (OiDB's submission form)."""

    collection: str
    calib_level: int = 2
    embargo: Embargo = field(default_factory=Embargo)
    collection_release: datetime | None = None
    access_url_base: str | None = None
    obs_creator_name: str | None = None
    bib_reference: str | None = None
    datapi: str | None = None
    keywords: str | None = None


_UPDATABLE = (
    "dataproduct_type", "access_url", "access_format", "access_estsize", "s_ra", "s_dec", "s_fov", "s_region",
    "s_xel1", "s_xel2", "t_min", "t_max", "t_exptime", "em_min", "em_max", "em_res_power", "em_xel",
    "facility_name", "obs_creator_name", "obs_release_date", "data_rights", "bib_reference", "quality_level",
    "interferometer_stations", "nb_channels", "nb_vis", "nb_vis2", "nb_t3", "keywords", "progid", "datapi",
    "access_md5", "dataproduct_category", "proposal_subid", "procsoft",
)
_KEY = ("obs_collection", "obs_id", "calib_level", "target_name", "instrument_name")


def _build_upsert() -> sql.Composed:
    names = ("id", "obs_publisher_did", *_KEY, *_UPDATABLE)
    values: list[sql.Composable] = [sql.Placeholder(n) for n in names]
    values[names.index("s_region")] = sql.SQL("%(s_region)s::spoly")
    return sql.SQL(
        "INSERT INTO ivoa.obscore ({columns}) VALUES ({values})"
        " ON CONFLICT (obs_collection, obs_id, calib_level, target_name, instrument_name, night_id)"
        " WHERE calib_level > 0 DO UPDATE SET {updates} RETURNING id"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(n) for n in names),
        values=sql.SQL(", ").join(values),
        updates=sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n)) for n in _UPDATABLE),
    )


_UPSERT = _build_upsert()


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


def next_granule_id(conn: psycopg.Connection[Any]) -> int:
    """Reserve a granule id (so obs_publisher_did can be written with the row)."""
    row = conn.execute("SELECT nextval(pg_get_serial_sequence('ivoa.obscore', 'id'))").fetchone()
    assert row is not None
    return int(row[0])


def granule_values(product: OifitsProduct, granule: Granule, options: GranuleOptions,
                   access_url: str | None = None) -> dict[str, object]:
    """The ivoa.obscore column values of one OIFITS granule (without id / publisher DID).

    ``access_url``: where the service serves the file it keeps (``jmmctap.products``); else the file stays
    remote at ``options.access_url_base`` + its name.
    """
    primary = product.primary
    category = _category(primary)
    rights = rights_for(granule.t_max, options.embargo, category, options.collection_release)
    # the interferometric field is the telescopes' diffraction beam, about lambda / D
    fov = math.degrees(granule.em_max / granule.min_diameter_m) if granule.min_diameter_m else None
    return {
        "obs_collection": options.collection, "obs_id": _obs_id(product), "calib_level": options.calib_level,
        "target_name": granule.target_name, "instrument_name": granule.instrument_name,
        "dataproduct_type": "visibility",
        "access_url": access_url or (options.access_url_base + quote(product.name) if options.access_url_base
                                     else None),
        "access_format": OIFITS_MIME_TYPE, "access_estsize": product.size_bytes // 1000,
        "s_ra": granule.s_ra, "s_dec": granule.s_dec, "s_fov": fov,
        "s_region": None if fov is None else circle_polygon(granule.s_ra, granule.s_dec, fov / 2),
        "s_xel1": -1, "s_xel2": -1, "t_min": granule.t_min, "t_max": granule.t_max, "t_exptime": granule.t_exptime,
        "em_min": granule.em_min, "em_max": granule.em_max, "em_res_power": granule.em_res_power,
        "em_xel": granule.nb_channels, "facility_name": granule.facility_name or None,
        "obs_creator_name": options.obs_creator_name, "obs_release_date": rights.obs_release_date,
        "data_rights": rights.data_rights, "bib_reference": options.bib_reference,
        "quality_level": _integer(primary.get("QUALITY LEVEL")),
        "interferometer_stations": " ".join(granule.stations) or None,
        "nb_channels": granule.nb_channels, "nb_vis": granule.nb_vis, "nb_vis2": granule.nb_vis2,
        "nb_t3": granule.nb_t3, "keywords": options.keywords,
        "progid": _text(primary.get("ESO OBS PROG ID")) or _text(primary.get("OBS PROG ID")),
        "datapi": options.datapi or _known(_text(primary.get("ESO OBS PI-COI NAME"))),
        "access_md5": product.md5, "dataproduct_category": category,
        "proposal_subid": _text(primary.get("SPICADB-ID")), "procsoft": _text(primary.get("PROCSOFT")),
    }


def upsert_granules(conn: psycopg.Connection[Any], product: OifitsProduct, options: GranuleOptions,
                    access_url: str | None = None) -> list[int]:
    """Insert or update the granules of one OIFITS product; returns their ids (caller's transaction)."""
    ids = []
    for granule in product.granules:
        values = granule_values(product, granule, options, access_url)
        granule_id = next_granule_id(conn)
        values.update(id=granule_id, obs_publisher_did=f"{PUBLISHER_DID_PREFIX}{granule_id}")
        row = conn.execute(_UPSERT, values).fetchone()
        assert row is not None
        ids.append(int(row[0]))
    return ids


def _obs_id(product: OifitsProduct) -> str:
    arcfile = _text(product.primary.get("ARCFILE"))
    if arcfile:
        return arcfile.removesuffix(".fits")
    return product.name.rsplit(".", 1)[0] if "." in product.name else product.name


def _category(primary: Mapping[str, object]) -> str | None:
    # OiDB: HIERARCH ... PRO SCIENCE T/F → SCIENCE/CALIB; else ESO DPR CATG
    for key in ("ESO PRO SCIENCE", "PRO SCIENCE"):
        value = primary.get(key)
        if isinstance(value, bool):
            return "SCIENCE" if value else "CALIB"
    catg = _text(primary.get("ESO DPR CATG"))
    return catg.upper() if catg else None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _known(text: str | None) -> str | None:
    return None if text is None or text.upper() == "UNKNOWN" else text


def _integer(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
