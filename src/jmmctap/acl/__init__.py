"""Access control: who may see which ``ivoa.obscore`` rows and which tables, decided by PostgreSQL (issue 15).

Modules: ``principal`` (the signed principal of each query transaction), ``store`` (all SQL on schema
``acl``: collections, data PIs, delegations, table grants), ``leakproof`` (keeping positional indexes under
row-level security), ``cli`` (the ``jmmctap`` commands). The rules themselves are the policies of
``sql/0025_access_control.sql``.
"""
