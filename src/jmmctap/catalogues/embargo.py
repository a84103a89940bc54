"""Proprietary periods and release dates, as OiDB computes them, and the rights they give.

OiDB (``modules/collection.xqm: collection:get-embargo``) gives each collection type an embargo:
``suv`` 2 years, ``pionier`` 1 year, ``eso`` 1 year, ``chara`` 18 months, anything else none.
A granule is released at the end of its observation plus the embargo (``granule:do-create``), no
earlier than the collection's own release date; the embargo does not apply to products that are
not science (``dataproduct_category`` other than SCIENCE or empty). Its ``data_rights`` is
``public`` once released and ``proprietary`` before (ObsCore 1.1 B.4.4; OiDB wrote ``secure``
forever): the value depends on the time of the question, so the stored one is refreshed as time
passes (``data_rights``). Enforcing the embargo on files is not done here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "COLLECTION_EMBARGOES",
    "MJD_EPOCH",
    "Embargo",
    "Rights",
    "add_embargo",
    "embargo_for",
    "mjd_to_datetime",
    "rights_at",
    "rights_for",
]

MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)
"""MJD 0 (UTC; leap seconds are below the precision that matters for release dates)."""


@dataclass(frozen=True)
class Embargo:
    """A proprietary period in calendar years and months."""

    years: int = 0
    months: int = 0

    @property
    def is_zero(self) -> bool:
        return self.years == 0 and self.months == 0


COLLECTION_EMBARGOES: Mapping[str, Embargo] = {
    "suv": Embargo(2),
    "pionier": Embargo(1),
    "eso": Embargo(1),
    "chara": Embargo(1, 6),
}
"""Embargo per OiDB collection type (others: none)."""


@dataclass(frozen=True)
class Rights:
    """``data_rights`` and ``obs_release_date`` of a granule."""

    data_rights: str
    obs_release_date: datetime | None


def embargo_for(collection_type: str | None) -> Embargo:
    """The embargo of an OiDB collection type (``eso``, ``chara``, ...); none when unknown."""
    return COLLECTION_EMBARGOES.get((collection_type or "").lower(), Embargo())


def mjd_to_datetime(mjd: float) -> datetime:
    """UTC instant of a modified Julian date."""
    return MJD_EPOCH + timedelta(days=mjd)


def add_embargo(instant: datetime, embargo: Embargo) -> datetime:
    """``instant`` plus whole calendar months (the day is clamped to the target month's length)."""
    month_index = instant.month - 1 + embargo.months + 12 * embargo.years
    year, month = instant.year + month_index // 12, month_index % 12 + 1
    day = min(instant.day, _days_in_month(year, month))
    return instant.replace(year=year, month=month, day=day)


def rights_for(t_max_mjd: float | None, embargo: Embargo, category: str | None = None,
               collection_release: datetime | None = None, now: datetime | None = None) -> Rights:
    """OiDB's release rule: end of observation + embargo; ``public`` once that date has passed.

    The embargo is forced to zero for non-science products; the release date is never before
    ``collection_release``; without ``t_max`` the release date is the collection's (or unknown, and the
    granule ``proprietary``: ObsCore 1.1 B.4.5). ``now`` defaults to the current time.
    """
    if category and category.upper() != "SCIENCE":
        embargo = Embargo()
    end = None if t_max_mjd is None else mjd_to_datetime(t_max_mjd)
    release = _latest(None if end is None else add_embargo(end, embargo), collection_release)
    return Rights(rights_at(release, now or datetime.now(UTC)), release)


def rights_at(release: datetime | None, now: datetime) -> str:
    """``public`` when the release date has passed at ``now``, else ``proprietary`` (unknown: never released)."""
    return "public" if release is not None and release <= now else "proprietary"


def _latest(first: datetime | None, second: datetime | None) -> datetime | None:
    values = [v for v in (first, second) if v is not None]
    return max(values) if values else None


def _days_in_month(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day
