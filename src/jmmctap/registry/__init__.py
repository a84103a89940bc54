"""The VO publishing registry: identity, VOResource records of every service and catalogue, OAI-PMH 2.0.

Records are built from the identity file (``registry.yaml``), the public TAP_SCHEMA and the TAP and
cone search capabilities (``records.py``), dated by the store (``store.py``) and served over OAI-PMH
(``oai.py``) at ``/oai``; XML is written only in ``records.py`` and ``oaixml.py``.
"""

from jmmctap.registry.identity import Identity, load_identity
from jmmctap.registry.oai import MANAGED_SET, answer_oai
from jmmctap.registry.records import Record, build_records, render_record, write_registry_capabilities
from jmmctap.registry.service import Entry, RegistryService, Snapshot

__all__ = [
    "MANAGED_SET",
    "Entry",
    "Identity",
    "Record",
    "RegistryService",
    "Snapshot",
    "answer_oai",
    "build_records",
    "load_identity",
    "render_record",
    "write_registry_capabilities",
]
