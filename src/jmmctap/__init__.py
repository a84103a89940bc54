"""jmmctap: the JMMC TAP data centre (TAP 1.1, ADQL 2.1, PostgreSQL + pgsphere)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jmmctap")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
