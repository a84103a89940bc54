"""Locate the project's data directories (``sql/``, ``tap_schema/``, ``schemas/``, ``ingest/``).

jmmctap is installed editable from its source tree (``make run`` does so), and these directories
live at the top of that tree, as the product layout requires, so they are found relative to
this file rather than as package data.
"""

from __future__ import annotations

from pathlib import Path

from jmmctap.errors import ConfigError

__all__ = ["PROJECT_ROOT", "resource_dir"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The top of the source tree jmmctap runs from."""


def resource_dir(name: str) -> Path:
    """Return the top-level project directory ``name``; raise ``ConfigError`` when absent."""
    path = PROJECT_ROOT / name
    if not path.is_dir():
        raise ConfigError(f"{path} is missing: install jmmctap from its source tree ('make run')")
    return path
