"""VOSI and DALI documents of the TAP service: availability, capabilities, tables, examples.

XML of these documents is produced only in this package; endpoints pass it plain values.
"""

from jmmctap.vosi.availability import AVAILABILITY_NS, write_availability
from jmmctap.vosi.capabilities import (
    CAPABILITIES_NS,
    Capability,
    DataModel,
    LanguageFeature,
    Limits,
    OutputFormat,
    TapCapabilities,
    describe_tap_service,
    write_capabilities,
)
from jmmctap.vosi.examples import Example, publishable_examples, read_examples, write_examples
from jmmctap.vosi.tables import TABLES_NS, write_table, write_tableset

__all__ = [
    "AVAILABILITY_NS",
    "CAPABILITIES_NS",
    "TABLES_NS",
    "Capability",
    "DataModel",
    "Example",
    "LanguageFeature",
    "Limits",
    "OutputFormat",
    "TapCapabilities",
    "describe_tap_service",
    "publishable_examples",
    "read_examples",
    "write_availability",
    "write_capabilities",
    "write_examples",
    "write_table",
    "write_tableset",
]
