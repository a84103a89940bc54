"""RESPONSEFORMAT values to writers: MIME types with parameters, short names, any case; unknown ones refused."""

from __future__ import annotations

import pytest

from jmmctap import formats
from jmmctap.errors import UsageError
from jmmctap.formats.binary import BINARY
from jmmctap.formats.binary2 import BINARY2
from jmmctap.formats.tabledata import TABLEDATA
from jmmctap.formats.votable import VotableWriter


def test_public_names() -> None:
    assert sorted(formats.__all__) == sorted([
        "DEFAULT", "VOTABLE_NS", "Ending", "OutputFormat", "ResultInfo", "ServiceDescriptor", "Writer", "all_formats",
        "get", "record_builder", "write_error",
    ])


def _serialization(value: str) -> object:
    writer = formats.get(value)
    assert isinstance(writer, VotableWriter)
    return writer.serialization


def test_default_is_votable_binary2() -> None:
    assert _serialization(formats.DEFAULT) is BINARY2
    assert _serialization("") is BINARY2
    assert formats.all_formats()[0].writer is formats.get(formats.DEFAULT)


@pytest.mark.parametrize(("value", "serialization"), [
    ("votable", BINARY2), ("VOTable", BINARY2), ("votable/b2", BINARY2), ("binary2", BINARY2),
    ("votable/td", TABLEDATA), ("TABLEDATA", TABLEDATA), ("votable/b", BINARY), ("binary", BINARY),
    ("application/x-votable+xml", BINARY2), ("text/xml", BINARY2),
    ("application/x-votable+xml;serialization=TABLEDATA", TABLEDATA),
    ("application/x-votable+xml; serialization=tabledata", TABLEDATA),
    ('Application/X-VOTable+XML;serialization="BINARY"', BINARY),
    ("application/x-votable+xml;serialization=BINARY2", BINARY2),
    ("text/xml;serialization=td", None),
])
def test_votable_values(value: str, serialization: object) -> None:
    if serialization is None:
        with pytest.raises(UsageError):
            formats.get(value)
    else:
        assert _serialization(value) is serialization


@pytest.mark.parametrize(("value", "media_type"), [
    ("csv", "text/csv;header=present"), ("CSV", "text/csv;header=present"), ("text/csv", "text/csv"),
    ("text/csv;header=present", "text/csv;header=present"), ("tsv", "text/tab-separated-values"),
    ("text/tab-separated-values", "text/tab-separated-values"), ("json", "application/json"),
    ("application/json", "application/json"), ("html", "text/html"), ("text/html", "text/html"),
    ("votable", "application/x-votable+xml"), ("votable/td", "application/x-votable+xml;serialization=TABLEDATA"),
    ("text/xml", "text/xml"),
    ("application/x-votable+xml;serialization=BINARY2", "application/x-votable+xml;serialization=BINARY2"),
    ("fits", "application/fits"), ("FITS", "application/fits"), ("application/fits", "application/fits"),
])
def test_a_mime_type_request_is_answered_with_that_type(value: str, media_type: str) -> None:
    assert formats.get(value).media_type == media_type


@pytest.mark.parametrize("value", ["image/fits", "text/plain", "votable/fits", "text/csv;header=absent",
                                   "application/x-votable+xml;serialization=FITS", "x" * 300])
def test_unknown_formats_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError, match="unsupported RESPONSEFORMAT"):
        formats.get(value)


def test_capabilities_declare_every_format_with_the_tapregext_ids() -> None:
    declared = {f.mime: (f.aliases, f.ivo_id) for f in formats.all_formats()}
    prefix = "ivo://ivoa.net/std/TAPRegExt#output-votable-"
    assert declared["application/x-votable+xml"] == (("votable", "votable/b2", "binary2"), prefix + "binary2")
    assert declared["application/x-votable+xml;serialization=TABLEDATA"][1] == prefix + "td"
    assert declared["application/x-votable+xml;serialization=BINARY"][1] == prefix + "binary"
    assert {"text/csv;header=present", "text/tab-separated-values", "application/json", "text/html"} <= set(declared)
    assert declared["application/fits"] == (("fits",), None)  # TAPRegExt defines ivo-ids for VOTables only


def test_every_declared_mime_and_alias_resolves_to_its_writer() -> None:
    for declared in formats.all_formats():
        for value in (declared.mime, *declared.aliases):
            writer = formats.get(value)
            assert type(writer) is type(declared.writer)
            assert getattr(writer, "serialization", None) is getattr(declared.writer, "serialization", None)


def test_formats_unpack_as_writer_mime_aliases_ivo_id() -> None:
    writer, mime, aliases, ivo_id = formats.all_formats()[1]
    assert (mime, aliases, ivo_id) == ("application/x-votable+xml;serialization=TABLEDATA", ("votable/td", "tabledata"),
                                       "ivo://ivoa.net/std/TAPRegExt#output-votable-td")
    assert writer.media_type == mime
