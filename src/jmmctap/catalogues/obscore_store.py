"""Storage of OIFITS granules in ``ivoa.obscore`` (calibration levels 1 to 3).

A granule is identified by (obs_collection, obs_id, calib_level, target_name, INSNAME, night):
re-ingesting a file updates its granules in place, keeping their ``id`` and ``obs_publisher_did``
(``ivo://jmmc.fr/oidb?<id>``) and their submission date. The INSNAME is stored in
``instrument_mode``; ``instrument_name`` is the instrument (``instruments``). ``s_region`` is the
field of view around the target (``field_of_view``), and implausible values of the file
(``granule_checks``) are stored as NULL; ``granule_flags`` says which and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from jmmctap.catalogues.embargo import Embargo, rights_for
from jmmctap.catalogues.field_of_view import circle_polygon, field_of_view_deg, telescope_diameter_m
from jmmctap.catalogues.granule_checks import implausible_values
from jmmctap.catalogues.instruments import instrument_of
from jmmctap.catalogues.oifits import Granule, OifitsProduct

__all__ = [
    "OIFITS_MIME_TYPE",
    "PUBLISHER_DID_PREFIX",
    "GranuleOptions",
    "circle_polygon",
    "granule_flags",
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
    "facility_name", "instrument_name", "obs_creator_name", "obs_release_date", "data_rights", "bib_reference",
    "quality_level", "interferometer_stations", "nb_channels", "nb_vis", "nb_vis2", "nb_t3", "keywords", "progid",
    "datapi", "access_md5", "dataproduct_category", "proposal_subid", "procsoft",
)
_KEY = ("obs_collection", "obs_id", "calib_level", "target_name", "instrument_mode")


def _build_upsert() -> sql.Composed:
    names = ("id", "obs_publisher_did", *_KEY, *_UPDATABLE)
    values: list[sql.Composable] = [sql.Placeholder(n) for n in names]
    values[names.index("s_region")] = sql.SQL("%(s_region)s::spoly")
    return sql.SQL(
        "INSERT INTO ivoa.obscore ({columns}) VALUES ({values})"
        " ON CONFLICT (obs_collection, obs_id, calib_level, target_name, instrument_mode, night_id)"
        " WHERE calib_level > 0 DO UPDATE SET {updates} RETURNING id"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(n) for n in names),
        values=sql.SQL(", ").join(values),
        updates=sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n)) for n in _UPDATABLE),
    )


_UPSERT = _build_upsert()


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
    values: dict[str, object] = {
        "obs_collection": options.collection, "obs_id": _obs_id(product), "calib_level": options.calib_level,
        "target_name": granule.target_name, "instrument_mode": granule.instrument_name,
        "instrument_name": _instrument(product, granule),
        "dataproduct_type": "visibility",
        "access_url": access_url or (options.access_url_base + quote(product.name) if options.access_url_base
                                     else None),
        "access_format": OIFITS_MIME_TYPE, "access_estsize": product.size_bytes // 1000,
        "s_ra": granule.s_ra, "s_dec": granule.s_dec,
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
    for doubt in implausible_values(granule):
        values.update(dict.fromkeys(doubt.columns))
    # the interferometric field is the telescopes' diffraction beam, about lambda / D
    fov = field_of_view_deg(_float(values["em_max"]), _diameter(product, granule))
    ra, dec = _float(values["s_ra"]), _float(values["s_dec"])
    values["s_fov"] = fov
    values["s_region"] = None if fov is None or ra is None or dec is None else circle_polygon(ra, dec, fov / 2)
    return values


def granule_flags(product: OifitsProduct, granule: Granule) -> list[str]:
    """What the ingest report says about a granule: each value not stored as a fact, and why."""
    where = f"{product.name}: {granule.target_name} / {granule.instrument_name} night {granule.night_id}: "
    flags = [f"{where}{doubt.reason}: {', '.join(doubt.columns)} stored as NULL"
             for doubt in implausible_values(granule)]
    if instrument_of(granule.instrument_name, _text(product.primary.get("INSTRUME"))) is None:
        flags.append(f"{where}no known instrument in INSNAME or INSTRUME: instrument_name is the INSNAME")
    if _diameter(product, granule) is None:
        flags.append(f"{where}no telescope diameter (OI_ARRAY, stations, facility): s_fov and s_region unknown")
    return flags


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


def _instrument(product: OifitsProduct, granule: Granule) -> str:
    return instrument_of(granule.instrument_name, _text(product.primary.get("INSTRUME"))) or granule.instrument_name


def _diameter(product: OifitsProduct, granule: Granule) -> float | None:
    return telescope_diameter_m(granule.facility_name, granule.stations, granule.min_diameter_m,
                                product.array_diameter_m)


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


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
