"""The catalog API: tables whose rows their PIs read and edit over HTTP (JMMC's catalogAPI, a2p2's ``Catalog``).

``declarations`` says which tables are catalogs (``jmmctap catalog expose``), ``values`` checks the values
sent, ``service`` decides what a request means and ``store`` runs it as the query role, where PostgreSQL
decides who may change which row (sql/0032_catalog_api.sql). The HTTP side is ``jmmctap.endpoints.catalogs``.
"""

__all__: list[str] = []  # import the modules themselves: the CLI starts without the server's imports
