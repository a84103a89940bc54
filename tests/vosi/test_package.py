"""The public names of jmmctap.vosi (what endpoints and app construction may use)."""

from __future__ import annotations

import jmmctap.vosi


def test_public_names_are_pinned_and_importable() -> None:
    assert set(jmmctap.vosi.__all__) == {
        "AVAILABILITY_NS", "CAPABILITIES_NS", "TABLES_NS", "Capability", "DataModel", "Example",
        "LanguageFeature", "Limits", "OutputFormat", "TapCapabilities", "describe_tap_service",
        "publishable_examples", "read_examples", "write_availability", "write_capabilities", "write_examples",
        "write_table", "write_tableset",
    }
    assert all(hasattr(jmmctap.vosi, name) for name in jmmctap.vosi.__all__)
