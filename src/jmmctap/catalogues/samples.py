"""Load the sample data shipped in ``ingest/samples/`` (see its README for origins and licences).

``load_samples`` is idempotent: the catalogue samples (JSDC, JMDC, BadCal, SPICA) are upserted or
re-ingested only when changed, the ESO ingest is differential and OIFITS granules are updated in
place, so ``make run`` can call it on every start. JSDC is loaded first so that the exposures'
targets link to its stars. The real VLTI products that keep their full ESO primary header (the
PIONIER files of Achernar, the MATISSE calibrator file) are read twice: as ESO headers, giving
obsportal exposures (and L0 granules), and as OIFITS products.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from jmmctap.catalogues.catalogue_samples import load_catalogue_samples
from jmmctap.catalogues.chara_ingest import ingest_chara_files
from jmmctap.catalogues.embargo import embargo_for
from jmmctap.catalogues.eso_ingest import EsoIngestReport, ingest_eso_files
from jmmctap.catalogues.obscore_l0 import derive_l0_granules
from jmmctap.catalogues.obscore_store import GranuleOptions
from jmmctap.catalogues.obsplan_ingest import PlanIngestReport, ingest_plan_files
from jmmctap.catalogues.oifits_ingest import OifitsIngestReport, ingest_oifits_files
from jmmctap.errors import ConfigError
from jmmctap.products.catalog import ProductPublisher
from jmmctap.resources import resource_dir
from jmmctap.settings import Settings

__all__ = ["ESO_HEADER_PRODUCTS", "SAMPLE_COLLECTIONS", "SamplesReport", "load_samples"]

SAMPLE_COLLECTIONS = {
    "samples_eso": ("eso", ("MATISSE_*.fits", "AMBER_*.fits")),
    "samples_pionier": ("pionier", ("2012-03-24_ALL_oiDataCalib.fits", "Achernar_*.fits", "PIONIER_*.fits")),
}
"""OIFITS sample collection → (OiDB collection type, file name patterns in ``oifits/``)."""

ESO_HEADER_PRODUCTS = ("PIONIER_*.fits", "MATISSE_Canopus_*.fits")
"""OIFITS samples in ``oifits/`` whose primary header is a whole ESO exposure header, ingested as exposures too
(the other ESO products' headers are in ``eso/``)."""


@dataclass(frozen=True)
class SamplesReport:
    """What ``load_samples`` did."""

    eso: EsoIngestReport
    oifits: tuple[OifitsIngestReport, ...]
    catalogues: dict[str, int] = field(default_factory=dict)
    """Rows of each catalogue sample table (JSDC, JMDC, BadCal, SPICA) after loading."""
    chara: EsoIngestReport | None = None
    """The CHARA night log sample (``chara/``)."""
    plan: PlanIngestReport | None = None
    """The planned observations (``plan/``, Aspro2 OB exports)."""

    def summary(self) -> str:
        granules = sum(len(r.granule_ids) for r in self.oifits)
        tables = "".join(f", {rows} rows in {table}" for table, rows in self.catalogues.items())
        chara = f", {self.chara.exposures} CHARA night log exposures" if self.chara else ""
        plan = f", {len(self.plan.inserted) + len(self.plan.updated) + len(self.plan.unchanged)} planned" \
               " observations" if self.plan else ""
        return (f"samples: {self.eso.exposures} exposures ({len(self.eso.inserted)} new), "
                f"{self.eso.l0_granules} L0 granules written, {granules} OIFITS granules{tables}{chara}{plan}")


def load_samples(conn: psycopg.Connection[Any], settings: Settings | None = None,
                 directory: Path | None = None) -> SamplesReport:
    """Load every sample: catalogues, ESO headers, ObsPortal exports and CHARA night logs, plans, OIFITS; idempotent.

    Parameters
    ----------
    conn
        Connection of the owner role on an initialised database.
    settings
        Service settings (the query role granted the ingested sample tables, the product store keeping the
        OIFITS files); default settings and no file kept if None.
    directory
        Samples directory (default: the project's ``ingest/samples``).

    Raises
    ------
    ConfigError
        A sample file is missing or rejected (the shipped samples must all load).
    """
    root = directory or resource_dir("ingest") / "samples"
    catalogues = load_catalogue_samples(conn, root, (settings or Settings()).query_role)
    exposures = [p for folder in ("eso", "obsportal") for p in sorted((root / folder).iterdir()) if p.is_file()]
    exposures += sorted(p for pattern in ESO_HEADER_PRODUCTS for p in (root / "oifits").glob(pattern))
    eso = ingest_eso_files(conn, exposures, derive_l0=derive_l0_granules)
    chara = ingest_chara_files(conn, sorted((root / "chara").glob("*.csv")), derive_l0=derive_l0_granules)
    plan = ingest_plan_files(conn, sorted((root / "plan").glob("*.obx")))
    products = None if settings is None else ProductPublisher.from_settings(settings)
    reports = []
    for collection, (collection_type, patterns) in SAMPLE_COLLECTIONS.items():
        files = sorted(p for pattern in patterns for p in (root / "oifits").glob(pattern))
        if not files:
            raise ConfigError(f"no sample OIFITS file for {collection} in {root / 'oifits'}")
        options = GranuleOptions(collection, calib_level=2, embargo=embargo_for(collection_type))
        reports.append(ingest_oifits_files(conn, files, options, products=products))
    rejected = list(eso.rejected) + [r for report in reports for r in report.rejected]
    if rejected:
        raise ConfigError("sample files rejected: " + "; ".join(reason for _, reason in rejected))
    return SamplesReport(eso, tuple(reports), catalogues, chara, plan)
