"""The developers' shared folder beside the checkout, and the repository's own copies of some of its files.

A clone from the public repository has no ``../shared``. A test that needs one of its files carries
``needs_shared(path)`` and is skipped with a reason naming that file. Files the repository ships itself
(``ingest/samples``: unmodified copies, origin and licence in its README) are read from there, so the
tests over them run everywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["SAMPLES", "SHARED", "missing_reason", "needs_shared", "shared_files"]

_ROOT = Path(__file__).resolve().parents[2]

SHARED = _ROOT.parent / "shared"
"""The developers' shared folder beside the project (tests may read it; the product never does)."""

SAMPLES = _ROOT / "ingest" / "samples"
"""The sample files shipped in the repository (a subset of shared/data, byte for byte)."""


def _first_missing(paths: tuple[Path, ...]) -> Path | None:
    return next((path for path in paths if not path.exists()), None)


def missing_reason(path: Path) -> str:
    """The skip reason of a test that needs ``path``."""
    return f"needs {path} (../shared, the developers' data, is not beside this checkout)"


def needs_shared(*paths: Path) -> pytest.MarkDecorator:
    """Skip unless every path exists; the reason names the first missing file (not an empty-parameter skip)."""
    missing = _first_missing(paths)
    return pytest.mark.skipif(missing is not None, reason=missing_reason(missing) if missing else "")


def shared_files(directory: Path, pattern: str = "*") -> list[Path]:
    """The files of a shared directory, sorted; none when it is absent (its tests carry ``needs_shared``)."""
    return sorted(path for path in directory.glob(pattern) if path.is_file()) if directory.is_dir() else []

