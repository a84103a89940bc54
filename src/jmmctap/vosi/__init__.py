"""VOSI and DALI documents of the TAP service: availability, capabilities, tables, examples.

XML of these documents is produced only in this package; endpoints pass it plain values.
"""

from jmmctap.vosi.availability import AVAILABILITY_NS, write_availability

__all__ = ["AVAILABILITY_NS", "write_availability"]
