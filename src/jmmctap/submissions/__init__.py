"""Data submitted over HTTP by signed-in users (issue 17): table uploads, OIFITS submissions and BadCal reports.

Modules: ``spool`` (a request body to a temporary file as it arrives, within a size limit), ``tables``
(``PUT``/``DELETE /tables/SCHEMA.TABLE``: who may write where, the ingest and drop of ``jmmctap.ingest``),
``badcal_report`` (a report as submitted, validated), ``badcal_store`` (all SQL on the reports and their
publication in ``badcal.valid_stars``), ``oifits_upload`` / ``url_fetch`` (the files of ``POST /oidb/submit``,
posted or fetched), ``oifits_check`` (their validation), ``oifits_submit`` (who may submit where, the granules),
``oifits_html`` (the report for browsers), ``cli`` (``jmmctap badcal`` and ``jmmctap writer``).
"""
