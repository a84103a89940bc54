"""Data submitted over HTTP by signed-in users (issue 17): table uploads and BadCal reports.

Modules: ``spool`` (a request body to a temporary file as it arrives, within a size limit), ``tables``
(``PUT``/``DELETE /tables/SCHEMA.TABLE``: who may write where, the ingest and drop of ``jmmctap.ingest``),
``badcal_report`` (a report as submitted, validated), ``badcal_store`` (all SQL on the reports and their
publication in ``badcal.valid_stars``), ``cli`` (``jmmctap badcal`` and ``jmmctap writer``).
"""
