"""The accounts modules declare their public names, and the package imports none of them (quick CLI start)."""

from __future__ import annotations

import importlib
import pkgutil

import jmmctap.accounts


def test_each_module_declares_importable_public_names() -> None:
    for info in pkgutil.iter_modules(jmmctap.accounts.__path__):
        module = importlib.import_module(f"jmmctap.accounts.{info.name}")
        assert module.__all__, info.name
        assert all(hasattr(module, name) for name in module.__all__), info.name


def test_the_commands_are_registered_under_their_documented_names() -> None:
    import argparse

    from jmmctap.accounts.cli import register

    parser = argparse.ArgumentParser()
    assert set(register(parser.add_subparsers(dest="command"))) == {"user", "group", "token"}
    args = parser.parse_args(["user", "add", "alice", "--group", "a", "--group", "b", "--password-stdin"])
    assert (args.name, args.group, args.password_stdin) == ("alice", ["a", "b"], True)
    assert parser.parse_args(["token", "create", "alice", "--expires-days", "7"]).expires_days == 7
    assert parser.parse_args(["group", "remove-member", "g", "alice"]).user == "alice"
