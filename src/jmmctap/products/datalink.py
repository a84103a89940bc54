"""DataLink 1.1 ``{links}`` of ObsCore granules: what the rows are, who may have them, how they are written.

For each asked ID (an ``obs_publisher_did``), in the order asked and consecutive per ID (DataLink 1.1 §3.2):

- ``#this``: the stored file at ``/products/{sha256}/{name}``, else the granule's own ``access_url``
  (remote files of hosted collections; the ESO archive page of an L0 exposure);
- ``#preview``: the quick-look PNG of a stored file (``/previews/{sha256}.png``, ``products.preview``);
- ``#progenitor`` (of a product) / ``#derivation`` (of an L0 exposure): the exposures and products of the
  same target, night and instrument, as links to their own ``{links}``;
- ``#documentation``: the collection's page (``jmmctap products document``).

Errors are rows (``error_message``, DataLink §3.4): ``NotFoundFault`` for an unknown ID, ``DefaultFault``
(with ``link_auth`` true, ``link_authorized`` false) for a granule under embargo or in a private collection
(PostgreSQL decides, ``products.access``). When every asked ID is refused the whole response is refused,
401 (anonymous, with the accounts' ``WWW-Authenticate``) or 403, as the files are: a client following one
granule's links, TOPCAT's activation action or ``getdatalink()``, gets the HTTP status it understands,
while pyvo's ``iter_datalinks`` over a mixed result still gets the links of the open granules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from jmmctap.accounts.credentials import CHALLENGES
from jmmctap.auth import Principal
from jmmctap.db.pools import Pools
from jmmctap.errors import AuthenticationError, ForbiddenError
from jmmctap.formats.tabledata import TABLEDATA
from jmmctap.formats.votable import VotableWriter
from jmmctap.formats.writer import ServiceDescriptor
from jmmctap.products.access import GranuleLinks, Relative, read_granule_links
from jmmctap.products.catalog import PREVIEW_MEDIA_TYPE, preview_path, product_path
from jmmctap.results import ResultColumn, Row

__all__ = [
    "DATALINK_STANDARD_ID",
    "LINKS_MEDIA_TYPE",
    "LINKS_PATH",
    "LINK_COLUMNS",
    "MAX_IDS",
    "LinksStream",
    "datalink_descriptor",
    "find_links",
    "links_writer",
]

DATALINK_STANDARD_ID = "ivo://ivoa.net/std/DataLink#links-1.1"
"""standardID of the {links} capability and of the service descriptor."""

LINKS_MEDIA_TYPE = "application/x-votable+xml;content=datalink"
"""Media type of a {links} response (DataLink 1.1 §3.3)."""

LINKS_PATH = "/datalink/links"
"""Path of the {links} endpoint below the service root."""

MAX_IDS = 1000
"""IDs answered per request; beyond, the response ends with OVERFLOW and pyvo asks the rest in batches."""

_PRODUCT_TYPE = "visibility"
"""content_qualifier of OIFITS files (IVOA product-type vocabulary)."""


def _column(name: str, ucd: str, description: str, datatype: str = "char", unit: str | None = None) -> ResultColumn:
    return ResultColumn(name, datatype, arraysize=None if datatype != "char" else "*", ucd=ucd, unit=unit,
                        description=description)


LINK_COLUMNS = (
    _column("ID", "meta.id;meta.main", "Input identifier (obs_publisher_did)"),
    _column("access_url", "meta.ref.url", "Link to data or service"),
    _column("service_def", "meta.ref", "Reference to a service descriptor resource"),
    _column("error_message", "meta.code.error", "Error if an access_url cannot be created"),
    _column("semantics", "meta.code", "Term from the DataLink vocabulary describing the link"),
    _column("description", "meta.note", "Human-readable text describing this link"),
    _column("content_type", "meta.code.mime", "Mime-type of the content the link returns"),
    _column("content_length", "phys.size;meta.file", "Size of the download the link returns", "long", "byte"),
    _column("content_qualifier", "meta.code.class", "Product type of the linked resource (product-type vocabulary)"),
    _column("local_semantics", "meta.code", "Semantics local to this service"),
    _column("link_auth", "meta.code", "Authentication to follow the link: false, optional or true"),
    _column("link_authorized", "meta.code", "Whether the caller may follow the link (true) or not (false)"),
)
"""The columns of a {links} table: DataLink 1.1 §3.2, in its order, with its UCDs."""


@dataclass(frozen=True)
class _Link:
    id: str
    access_url: str | None = None
    error_message: str | None = None
    semantics: str = "#this"
    description: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    content_qualifier: str | None = None
    link_auth: str | None = None
    link_authorized: str | None = None

    def row(self) -> Row:
        return (self.id, self.access_url, None, self.error_message, self.semantics, self.description,
                self.content_type, self.content_length, self.content_qualifier, None, self.link_auth,
                self.link_authorized)


class LinksStream:
    """The rows of one {links} response (a ``ResultStream`` for the VOTable writer)."""

    def __init__(self, rows: Sequence[Row], overflowed: bool) -> None:
        self._rows, self._overflowed = list(rows), overflowed

    @property
    def columns(self) -> Sequence[ResultColumn]:
        return LINK_COLUMNS

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    @property
    def query(self) -> str:
        return ""

    @property
    def records(self) -> bool:
        return False

    async def batches(self) -> AsyncIterator[Sequence[Row]]:
        if self._rows:
            yield self._rows


def links_writer() -> VotableWriter:
    """TABLEDATA, the serialization every DataLink client reads."""
    return VotableWriter(LINKS_MEDIA_TYPE, TABLEDATA)


def datalink_descriptor(root: str) -> ServiceDescriptor:
    """The service descriptor put in ObsCore results: DataLink on ``obs_publisher_did``."""
    return ServiceDescriptor(DATALINK_STANDARD_ID, root + LINKS_PATH, "obs_publisher_did",
                             description="DataLink: the file, quick-look plot, exposures and products of a granule")


async def find_links(pools: Pools, principal: Principal, ids: Sequence[str], at: datetime | None, root: str, *,
                     label: str, client: str) -> LinksStream:
    """The {links} rows of ``ids`` for ``principal`` (see the module docstring).

    Parameters
    ----------
    ids
        The asked IDs, in order; duplicates are answered once. Only the first ``MAX_IDS`` are answered.
    at
        The moment embargoes are judged at (None: the database's now).
    root
        The service's root URL for the links.

    Raises
    ------
    AuthenticationError
        Every asked granule is closed to an anonymous caller.
    ForbiddenError
        Every asked granule is closed to this caller.
    """
    unique = list(dict.fromkeys(ids))
    asked, overflowed = unique[:MAX_IDS], len(unique) > MAX_IDS
    granules, relatives = await read_granule_links(pools, principal, asked, at, label=label, client=client)
    by_did = {g.obs_publisher_did: g for g in granules}
    closed = [g for g in granules if not g.open]
    if asked and len(closed) == len(asked):
        if principal.anonymous:
            raise AuthenticationError("these data are under embargo or private: log in", CHALLENGES)
        raise ForbiddenError(f"{principal} may not have these data (embargo or private collection)")
    related: dict[str, list[Relative]] = {}
    for relative in relatives:
        related.setdefault(relative.of_did, []).append(relative)
    rows: list[Row] = []
    for did in asked:
        granule = by_did.get(did)
        links = (_not_found(did) if granule is None else
                 _refused(granule, principal, at or datetime.now(UTC)) if not granule.open else
                 _links_of(granule, related.get(did, []), root))
        rows.extend(link.row() for link in links)
    return LinksStream(rows, overflowed)


def _not_found(did: str) -> list[_Link]:
    return [_Link(did, error_message=f"NotFoundFault: no granule {did} in this service")]


def _refused(granule: GranuleLinks, principal: Principal, at: datetime) -> list[_Link]:
    release = granule.obs_release_date
    why = (f"under embargo until {release:%Y-%m-%d}" if release is not None and release > at
           else "in a private collection")
    need = "log in to reach it" if principal.anonymous else f"{principal} may not reach it"
    # DataLink 1.1 §3.4 knows no authorization fault: DefaultFault, with link_auth/link_authorized saying it
    return [_Link(granule.obs_publisher_did, error_message=f"DefaultFault: this granule is {why}; {need}",
                  link_auth="true", link_authorized="false")]


def _links_of(granule: GranuleLinks, relatives: Sequence[Relative], root: str) -> list[_Link]:
    did = granule.obs_publisher_did
    links: list[_Link] = []
    if granule.sha256 is not None and granule.file_name is not None:
        links.append(_Link(did, root + product_path(granule.sha256, granule.file_name), semantics="#this",
                           description=f"OIFITS file {granule.file_name}", content_type=granule.media_type,
                           content_length=granule.size_bytes, content_qualifier=_PRODUCT_TYPE))
        links.append(_Link(did, root + preview_path(granule.sha256), semantics="#preview",
                           description="Quick-look plot: VIS2 and closure phase against spatial frequency, uv coverage",
                           content_type=PREVIEW_MEDIA_TYPE))
    elif granule.access_url:
        links.append(_Link(did, granule.access_url, semantics="#this",
                           description="The data of this granule" if granule.calib_level else
                           "The exposure in the observatory's archive",
                           content_type=granule.access_format,
                           content_length=None if granule.access_estsize is None else granule.access_estsize * 1000))
    else:
        links.append(_Link(did, error_message="NotFoundFault: this granule has no file", semantics="#this"))
    for relative in relatives:
        progenitor = relative.calib_level == 0
        what = (f"Exposure {relative.obs_id} (L0 observation log)" if progenitor else
                f"Product {relative.obs_id} (calibration level {relative.calib_level})")
        links.append(_Link(did, f"{root}{LINKS_PATH}?ID={quote(relative.obs_publisher_did, safe='')}",
                           semantics="#progenitor" if progenitor else "#derivation",
                           description=f"{what} of the same target, night and instrument: its links",
                           content_type=LINKS_MEDIA_TYPE))
    if granule.documentation_url:
        links.append(_Link(did, granule.documentation_url, semantics="#documentation",
                           description="Documentation of the collection", content_type="text/html"))
    return links
