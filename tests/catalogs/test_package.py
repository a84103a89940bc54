"""The catalogs modules declare their public names, and the package imports none of them (quick CLI start)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Any

import jmmctap.catalogs


def test_each_module_declares_importable_public_names() -> None:
    for info in pkgutil.iter_modules(jmmctap.catalogs.__path__):
        module = importlib.import_module(f"jmmctap.catalogs.{info.name}")
        assert module.__all__, info.name
        assert all(hasattr(module, name) for name in module.__all__), info.name


def test_the_catalog_command_takes_the_documented_spelling() -> None:
    from jmmctap.catalogs.cli import register

    parser = argparse.ArgumentParser()
    commands: dict[str, Any] = {}
    register(parser.add_subparsers(dest="command"), commands)
    assert set(commands) == {"catalog"}
    args = parser.parse_args(["catalog", "expose", "spica.spica", "--key", "id", "--pi-column", "piname",
                              "--pi-column", "piname2"])
    assert (args.table, args.key, args.pi_column) == ("spica.spica", "id", ["piname", "piname2"])
