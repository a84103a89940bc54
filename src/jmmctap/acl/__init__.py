"""Access control: who may see which ``ivoa.obscore`` rows and which tables, decided by PostgreSQL (issue 15).

``principal`` signs the caller of each query transaction; ``store`` manages collections, data PIs,
delegations and table grants (``sql/0025_access_control.sql``); ``cli`` is their ``jmmctap`` commands.
"""
