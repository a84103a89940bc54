"""The JMMC catalogues: ObsPortal exposures from ESO headers, OiDB ObsCore granules from OIFITS.

Modules: ``eso_header`` (read headers), ``exposure`` (one exposure and its validation),
``baselines`` and ``stations`` (projected baselines), ``instrument_modes``, ``obsportal_store``
and ``targets`` (obsportal writes, grouping by position, JSDC link), ``eso_ingest`` (the
``ingest-eso`` service), ``embargo`` (OiDB release rules).
"""

__all__: list[str] = []
