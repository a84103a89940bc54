"""The JMMC catalogues: ObsPortal exposures from ESO headers, OiDB ObsCore granules from OIFITS.

Modules: ``eso_header`` (read headers), ``exposure`` (one exposure and its validation),
``baselines`` and ``stations`` (projected baselines), ``instrument_modes``, ``obsportal_store``
and ``targets`` (obsportal writes, grouping by position, JSDC link), ``eso_ingest`` (the
``ingest-eso`` service), ``embargo`` (OiDB release rules), ``oifits`` (OIFITS → granules),
``obscore_store`` and ``obscore_l0`` (ivoa.obscore writes, L1-L3 and L0), ``oifits_ingest``
(the ``ingest-oifits`` service), ``samples`` (``load-samples``).
"""

__all__: list[str] = []
