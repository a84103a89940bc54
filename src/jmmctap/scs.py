"""Simple Cone Search 1.03 on the ObsPortal exposures, JSDC and BadCal (for Aspro2 and VO clients).

A cone request becomes an ADQL query written here from fixed column lists and the validated
numbers (RA, DEC, SR are finite floats within their ranges, formatted by ``repr``; no user text
reaches the query), translated by the ADQL engine and run by ``jmmctap.query.start`` as for TAP.
The result is a VOTable TABLEDATA document (Aspro2 reads it with XSLT) whose ID and position
FIELDs carry the UCD1 that SCS 1.03 requires (``ID_MAIN``, ``POS_EQ_RA_MAIN``, ``POS_EQ_DEC_MAIN``);
rows are sorted by distance from the cone centre. ``VERB`` 1 gives those three columns, 2 (the
default) the usual ones (for ObsPortal the columns of the real ``search.votable``), 3 all columns.

Errors are SCS error documents: ``<INFO name="Error">`` under ``VOTABLE`` (SCS 1.03 §2 item 3),
plus a DALI ``QUERY_STATUS=ERROR``, sent with HTTP 200 for a bad request.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jmmctap import formats
from jmmctap.acl.principal import groups_of
from jmmctap.adql import limits_of, translate_in_thread
from jmmctap.auth import Principal
from jmmctap.dali import parse_maxrec, single_value
from jmmctap.db.pools import Pools
from jmmctap.errors import NotFoundError, UsageError
from jmmctap.formats.xmltext import escape_attribute, escape_text, to_ascii
from jmmctap.query import start
from jmmctap.querylog import QueryLog
from jmmctap.results import ResultColumn
from jmmctap.settings import Settings
from jmmctap.tapquery import PreparedQuery
from jmmctap.tapschema import TapSchema

__all__ = [
    "CATALOGUES",
    "CONE_SEARCH_ID",
    "MAX_SR_DEG",
    "MEDIA_TYPE",
    "ConeCatalogue",
    "ConeRequest",
    "cone_adql",
    "find_catalogue",
    "open_cone_search",
    "parse_cone_request",
    "write_scs_error",
]

CONE_SEARCH_ID = "ivo://ivoa.net/std/ConeSearch"
"""Standard identifier of Simple Cone Search."""

MAX_SR_DEG = 10.0
"""Largest search radius accepted, degrees (SCS 1.03 allows an error above the service's maxSR)."""

MEDIA_TYPE = "text/xml;content=x-votable"
"""Media type of SCS responses (SCS 1.03 §2 item 2)."""

_VERBOSITIES = (1, 2, 3)


@dataclass(frozen=True)
class ConeCatalogue:
    """A cone-searchable table: ADQL FROM clause, ID expression, position columns, VERB=2 select list."""

    name: str
    title: str
    table: str
    from_clause: str
    id_expression: str
    id_name: str
    id_description: str
    ra: str
    dec: str
    default_columns: tuple[str, ...]
    extra_tables: tuple[str, ...] = ()


_OBSPORTAL_COLUMNS = (
    # the columns of the real ObsPortal search.votable, in its order (Aspro2 reads them by name)
    "e.exp_header_id", "e.exp_mjd_start", "e.exp_mjd_end", "e.exp_projected_baselines", "e.exp_validation_level",
    "e.exp_validation_log", "e.exp_tau0", "e.exp_temperature", "e.exp_seeing", "e.exp_date_updated",
    "e.exp_date_release", "e.obs_id", "e.obs_type", "e.obs_program", "e.obs_program_pi_coi",
    "e.interferometer_name", "e.interferometer_stations", "e.instrument_name", "e.instrument_mode",
    "e.instrument_submode", "s.em_min AS instrument_em_min", "s.em_max AS instrument_em_max",
    "s.em_res_power AS instrument_em_res_power", "e.target_id", "e.target_name",
)

_JSDC_COLUMNS = (
    "j.recno", "j.Name", "j.SpType", "j.Bmag", "j.e_Bmag", "j.Vmag", "j.e_Vmag", "j.Rmag", "j.Imag", "j.Jmag",
    "j.e_Jmag", "j.Hmag", "j.e_Hmag", "j.Kmag", "j.e_Kmag", "j.Lmag", "j.e_Lmag", "j.Mmag", "j.e_Mmag", "j.Nmag",
    "j.e_Nmag", "j.LDD", "j.e_LDD", "j.LDDCHI", "j.CalFlag", "j.UDDB", "j.UDDV", "j.UDDR", "j.UDDI", "j.UDDJ",
    "j.UDDH", "j.UDDK", "j.UDDL", "j.UDDM", "j.UDDN",
)

_BADCAL_COLUMNS = (
    "b.name", "b.obs_date", "b.interferometer", "b.insname", "b.baseline", "b.wavelength", "b.user_name",
    "b.user_affiliation", "b.user_comment", "b.sub_date",
)

CATALOGUES = (
    ConeCatalogue(
        name="obsportal", title="ObsPortal exposures (VLTI, CHARA observation logs)", table="obsportal.exposures",
        from_clause="obsportal.exposures AS e LEFT OUTER JOIN obsportal.instrument_setups AS s"
                    " ON e.setup_id = s.setup_id",
        id_expression="e.exp_id", id_name="exp_id", id_description="Exposure identifier (ESO DP.ID + _n)",
        ra="e.target_ra", dec="e.target_dec", default_columns=_OBSPORTAL_COLUMNS,
        extra_tables=("obsportal.instrument_setups",),
    ),
    ConeCatalogue(
        name="jsdc", title="JSDC, JMMC Stellar Diameters Catalogue", table="jsdc.jsdc_v2",
        from_clause="jsdc.jsdc_v2 AS j", id_expression="CAST(j.recno AS VARCHAR)", id_name="id",
        id_description="JSDC record number (recno) as text, the SCS record identifier",
        ra="j.RAJ2000", dec="j.DEJ2000", default_columns=_JSDC_COLUMNS,
    ),
    ConeCatalogue(  # accepted reports only: pending and rejected ones never reach the table (submissions/)
        name="badcal", title="BadCal, bad interferometric calibrators reported by observers",
        table="badcal.valid_stars", from_clause="badcal.valid_stars AS b", id_expression="b.id", id_name="id",
        id_description="BadCal report identifier", ra="b.ra", dec="b.dec", default_columns=_BADCAL_COLUMNS,
    ),
)
"""The SCS endpoints, ``/scs/<name>``."""


@dataclass(frozen=True)
class ConeRequest:
    """A validated cone: centre and radius in degrees, verbosity, row limit."""

    ra: float
    dec: float
    sr: float
    verb: int
    maxrec: int


def find_catalogue(name: str) -> ConeCatalogue:
    """The SCS catalogue named in the URL; ``NotFoundError`` for any other."""
    for catalogue in CATALOGUES:
        if catalogue.name == name:
            return catalogue
    raise NotFoundError(f"no cone search named {name!r}: try {', '.join(c.name for c in CATALOGUES)}")


def parse_cone_request(params: Mapping[str, Sequence[str]], settings: Settings) -> ConeRequest:
    """Validate RA, DEC, SR (required), VERB and MAXREC; ``params`` as ``dali.read_parameters`` gives them.

    Other parameters are ignored (SCS 1.03 §2 item 1). An unknown ``VERB`` means 2.

    Raises
    ------
    UsageError
        A required parameter is missing, not a finite number, out of range, or repeated with different
        values (``dali.single_value``).
    """
    values = {name: single_value(params, name) or "" for name in ("RA", "DEC", "SR", "VERB", "MAXREC")}
    ra = _number(values, "RA", 0.0, 360.0)
    dec = _number(values, "DEC", -90.0, 90.0)
    sr = _number(values, "SR", 0.0, MAX_SR_DEG)
    verb_text = values["VERB"].strip()
    verb = int(verb_text) if verb_text in ("1", "2", "3") else 2
    return ConeRequest(ra % 360.0, dec, sr, verb, parse_maxrec(values["MAXREC"], settings))


def cone_adql(catalogue: ConeCatalogue, request: ConeRequest, tap_schema: TapSchema) -> str:
    """The ADQL query of a cone search; every value in it is a validated float."""
    centre = f"POINT('ICRS', {request.ra!r}, {request.dec!r})"
    position = f"POINT('ICRS', {catalogue.ra}, {catalogue.dec})"
    items = [f"{catalogue.id_expression} AS {catalogue.id_name}", catalogue.ra, catalogue.dec]
    if request.verb >= 2:
        items.append(f"DISTANCE({position}, {centre}) AS dist")
        items += catalogue.default_columns
    if request.verb == 3:
        items += _remaining_columns(catalogue, tap_schema, items)
    # SR=0 is the SCS metadata query: full metadata, no row (not even a star exactly at the centre)
    where = ("1 = 0" if request.sr == 0 else
             f"1 = CONTAINS({position}, CIRCLE('ICRS', {request.ra!r}, {request.dec!r}, {request.sr!r}))")
    return (f"SELECT {', '.join(items)} FROM {catalogue.from_clause} WHERE {where}"
            + (f" ORDER BY dist, {catalogue.id_name}" if request.verb >= 2 else f" ORDER BY {catalogue.id_name}"))


@contextlib.asynccontextmanager
async def open_cone_search(
    pools: Pools, tap_schema: TapSchema, settings: Settings, catalogue: ConeCatalogue, request: ConeRequest, *,
    principal: Principal, label: str = "cone search", client: str = "local",
) -> AsyncIterator[PreparedQuery]:
    """Translate and start the cone search (first rows fetched); errors come before any byte.

    Like ``tapquery.open_query``, the block owns the connection unless it hands it to ``response()``.
    The search is logged (``cone`` line of ``querylog``) when its result ends or when it fails.

    Raises
    ------
    jmmctap.errors.UsageError
        The catalogue is not published (e.g. not loaded yet) or the query failed.
    jmmctap.errors.ServiceUnavailableError
        The database cannot run queries now.
    """
    tap_schema = tap_schema.visible_to(groups_of(principal))  # a catalogue granted to others is not published
    for table in (catalogue.table, *catalogue.extra_tables):
        if tap_schema.table(table) is None:
            raise UsageError(f"the table {table} of this cone search is not published")
    adql = cone_adql(catalogue, request, tap_schema)
    record = QueryLog("cone", principal, adql, catalogue=catalogue.name, ra=request.ra, dec=request.dec,
                      sr=request.sr, verb=request.verb)
    try:
        translation = await translate_in_thread(adql, tap_schema, limits_of(settings))
        columns = _scs_columns(catalogue, translation.columns)
        stream = await start(pools.reads, translation.sql, columns, adql=adql, maxrec=request.maxrec,
                             timeout_s=settings.query_timeout_s, label=label, client=client, principal=principal,
                             signer=pools.signer, fence=tap_schema.lsn)  # a replica when one serves (db.replicas)
    except BaseException as exc:
        record.fail(exc)
        raise
    info = formats.ResultInfo(request_time=datetime.now(UTC), standard_id=CONE_SEARCH_ID)
    async with PreparedQuery(formats.get("votable/td"), stream, info, record, settings.send_timeout_s) as prepared:
        yield prepared


def write_scs_error(message: str) -> bytes:
    """An SCS 1.03 error document: ``INFO name="Error"`` under VOTABLE and a DALI ``QUERY_STATUS``."""
    text = message or "error"
    return to_ascii(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VOTABLE version="1.4" xmlns="{formats.VOTABLE_NS}">\n'
        f'<INFO name="Error" value="{escape_attribute(text)}"/>\n'
        '<RESOURCE type="results">\n'
        f'<INFO name="QUERY_STATUS" value="ERROR">{escape_text(text)}</INFO>\n'
        "</RESOURCE>\n</VOTABLE>\n"
    )


def _number(values: Mapping[str, str], name: str, low: float, high: float) -> float:
    text = values.get(name, "").strip()
    if not text:
        raise UsageError(f"the {name} parameter is required (decimal degrees)")
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name} must be a number in decimal degrees, not {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"{name} must be between {low:g} and {high:g} degrees, not {text}")
    return value


def _remaining_columns(catalogue: ConeCatalogue, tap_schema: TapSchema, items: list[str]) -> list[str]:
    """VERB=3: every other column of the main table (ADQL names as published, qualified by its alias)."""
    table = tap_schema.table(catalogue.table)
    alias = catalogue.from_clause.split(" AS ", 1)[1].split()[0]
    taken = {item.split(" AS ")[-1].split(".")[-1].strip('"').lower() for item in items}
    taken |= {catalogue.ra.split(".")[-1].lower(), catalogue.dec.split(".")[-1].lower()}
    if table is None:
        return []
    return [f"{alias}.{c.name}" for c in table.columns if c.name.strip('"').lower() not in taken]


def _scs_columns(catalogue: ConeCatalogue, columns: tuple[ResultColumn, ...]) -> list[ResultColumn]:
    """Give the ID and position FIELDs their SCS 1.03 UCD1 (and no other FIELD those UCDs)."""
    required = {0: ("ID_MAIN", catalogue.id_description), 1: ("POS_EQ_RA_MAIN", None), 2: ("POS_EQ_DEC_MAIN", None)}
    result = []
    for index, column in enumerate(columns):
        if index in required:
            ucd, description = required[index]
            column = dataclasses.replace(column, ucd=ucd, description=description or column.description)
        elif column.name == "dist":
            column = dataclasses.replace(column, unit="deg", ucd="pos.angDistance",
                                         description="Angular distance from the cone centre")
        elif column.ucd in ("ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"):
            column = dataclasses.replace(column, ucd=None)
        result.append(column)
    return result
