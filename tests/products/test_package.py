"""The products modules declare their public names; ``jmmctap products`` parses its documented actions."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import jmmctap.products


def test_each_module_declares_importable_public_names() -> None:
    for info in pkgutil.iter_modules(jmmctap.products.__path__):
        module = importlib.import_module(f"jmmctap.products.{info.name}")
        assert module.__all__, info.name
        assert all(hasattr(module, name) for name in module.__all__), info.name


def test_the_products_command_has_relink_and_document() -> None:
    from jmmctap.products.cli import register

    parser = argparse.ArgumentParser()
    commands: dict[str, object] = {}
    register(parser.add_subparsers(dest="command"), commands)  # type: ignore[arg-type]
    assert set(commands) == {"products"}
    assert parser.parse_args(["products", "relink"]).action == "relink"
    args = parser.parse_args(["products", "document", "samples_pionier", "https://www.jmmc.fr/pionier"])
    assert (args.collection, args.url, args.remove) == ("samples_pionier", "https://www.jmmc.fr/pionier", False)
    assert parser.parse_args(["products", "document", "c", "--remove"]).remove
