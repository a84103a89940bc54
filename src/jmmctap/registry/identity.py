"""Who publishes the registry records, and how each resource is titled: ``registry.yaml``, validated at start.

The file (``Settings.registry_file``, the repository's ``registry.yaml`` by default) gives the naming
authority, publisher, contact, curation dates and, per resource, its key (identifier = authority + ``/``
+ key), title, description and subjects. Every mistake is a ``ConfigError`` naming the file and the
path of the faulty entry, raised when a process starts rather than when a harvester first calls.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jmmctap.errors import ConfigError
from jmmctap.resources import PROJECT_ROOT

__all__ = [
    "DEFAULT_REGISTRY_FILE",
    "CatalogueIdentity",
    "ConeIdentity",
    "Contact",
    "Identity",
    "Related",
    "ResourceText",
    "TestQuery",
    "load_identity",
]

DEFAULT_REGISTRY_FILE = PROJECT_ROOT / "registry.yaml"
"""The identity file shipped with the repository."""

_AUTHORITY = re.compile(r"^ivo://[A-Za-z0-9][A-Za-z0-9\-_.~*'()]{2,}$")
"""An IVOA authority identifier (IVOA Identifiers 2.0 §2.3.2)."""
_KEY = re.compile(r"^[A-Za-z0-9\-_.~*'()]+(/[A-Za-z0-9\-_.~*'()]+)*$")
"""A resource key: path segments of unreserved characters (IVOA Identifiers 2.0 §2.3.3)."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SHORT_NAME_MAX = 16
"""VOResource: a shortName has at most 16 characters."""
_DATE_ROLES = ("Created", "Updated", "Issued", "Available", "Collected", "Accepted", "Submitted", "Copyrighted",
               "Valid", "Withdrawn", "Coverage", "Other")
"""Roles of ``curation/date`` (the IVOA date_role vocabulary, from DataCite)."""


@dataclass(frozen=True)
class Contact:
    """The curation contact: a name, an e-mail address (OAI Identify's adminEmail) and an optional address."""

    name: str
    email: str
    address: str | None = None


@dataclass(frozen=True)
class Related:
    """A ``relationship`` to a resource outside this registry, e.g. the paper describing a catalogue."""

    type: str
    name: str
    ivo_id: str | None = None
    alt_identifier: str | None = None


@dataclass(frozen=True)
class ResourceText:
    """What a record says of one resource: key, title, short name, description, subjects, content types."""

    key: str
    title: str
    description: str
    subjects: tuple[str, ...]
    short_name: str | None = None
    content_type: tuple[str, ...] = ()
    reference_url: str | None = None
    source: tuple[str, str] | None = None
    """``(format, value)`` of ``content/source``, e.g. ``("bibcode", "2017yCat.2346....0B")``."""
    related: tuple[Related, ...] = ()
    alt_identifiers: tuple[str, ...] = ()
    """Other identifiers of the resource (``doi:…``), VOResource 1.2 ``altIdentifier``."""


@dataclass(frozen=True)
class TestQuery:
    """ConeSearch ``testQuery``: a cone that returns rows (validators and RegTAP use it)."""

    ra: float
    dec: float
    sr: float


@dataclass(frozen=True)
class ConeIdentity:
    """A Simple Cone Search record: its text, the catalogue it serves (a ``catalogues`` name) and a test cone."""

    text: ResourceText
    catalogue: str
    test_query: TestQuery


@dataclass(frozen=True)
class CatalogueIdentity:
    """A catalogue served by TAP: its text and its tables (explicit names, or every table of some schemas)."""

    text: ResourceText
    tables: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Identity:
    """The whole identity file, validated."""

    authority: str
    publisher: str
    contact: Contact
    reference_url: str
    dates: tuple[tuple[str, str], ...]
    authority_record: ResourceText
    registry: ResourceText
    tap: ResourceText
    cone_searches: Mapping[str, ConeIdentity]
    catalogues: Mapping[str, CatalogueIdentity]
    source: Path

    def identifier(self, key: str) -> str:
        """The IVOA identifier of a resource key; the authority itself for an empty key."""
        return f"{self.authority}/{key}" if key else self.authority


def load_identity(path: Path | None = None) -> Identity:
    """Read and validate the identity file.

    Parameters
    ----------
    path
        The YAML file; the repository's ``registry.yaml`` when None.

    Raises
    ------
    ConfigError
        The file is missing, not YAML, or an entry is missing, unknown or invalid (the message names it).
    """
    path = path or DEFAULT_REGISTRY_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"registry identity file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"registry identity file {path} is not valid YAML: {exc}") from None
    return _Reader(path).identity(raw)


class _Reader:
    """Validation with the path of each entry, so that every error says where it is."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, why: str) -> ConfigError:
        return ConfigError(f"registry identity file {self.path}: {where}: {why}")

    def mapping(self, value: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where or "top level", "must be a mapping")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(where or "top level", f"unknown entr{'y' if len(unknown) == 1 else 'ies'} "
                            f"{', '.join(map(str, unknown))} (allowed: {', '.join(sorted(allowed))})")
        for name in sorted(required - set(value)):
            raise self.fail(_join(where, name), "is required")
        return value

    def text(self, value: Any, where: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        if isinstance(value, dt.date):
            value = value.isoformat()
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "must be a non-empty text")
        text = " ".join(value.split())
        if pattern is not None and not pattern.match(text):
            raise self.fail(where, f"{text!r} is not {hint}")
        return text

    def texts(self, value: Any, where: str, *, required: bool = True) -> tuple[str, ...]:
        if value is None and not required:
            return ()
        if not isinstance(value, list) or (required and not value):
            raise self.fail(where, "must be a list of texts" + (" (at least one)" if required else ""))
        return tuple(self.text(item, f"{where}[{i}]") for i, item in enumerate(value))

    def url(self, value: Any, where: str) -> str:
        return self.text(value, where, re.compile(r"^https?://\S+$"), "an http(s) URL")

    def identity(self, raw: Any) -> Identity:
        top = self.mapping(raw, "", {"authority", "publisher", "contact", "reference_url", "dates",
                                     "authority_record", "registry", "tap", "cone_searches", "catalogues"},
                           {"authority", "publisher", "contact", "reference_url", "authority_record", "registry",
                            "tap"})
        reference_url = self.url(top["reference_url"], "reference_url")
        catalogues = {
            str(name): self.catalogue(entry, f"catalogues.{name}", reference_url)
            for name, entry in self.mapping(top.get("catalogues") or {}, "catalogues", set(top.get("catalogues") or {}),
                                            set()).items()
        }
        cones = {
            str(name): self.cone(entry, f"cone_searches.{name}", reference_url, catalogues)
            for name, entry in self.mapping(top.get("cone_searches") or {}, "cone_searches",
                                            set(top.get("cone_searches") or {}), set()).items()
        }
        identity = Identity(
            authority=self.text(top["authority"], "authority", _AUTHORITY, "an IVOA authority (ivo://name)"),
            publisher=self.text(top["publisher"], "publisher"),
            contact=self.contact(top["contact"]),
            reference_url=reference_url,
            dates=self.dates(top.get("dates") or {}),
            authority_record=self.resource(top["authority_record"], "authority_record", reference_url, keyed=False),
            registry=self.resource(top["registry"], "registry", reference_url),
            tap=self.resource(top["tap"], "tap", reference_url),
            cone_searches=cones,
            catalogues=catalogues,
            source=self.path,
        )
        keys = [identity.registry.key, identity.tap.key, *(c.text.key for c in cones.values()),
                *(c.text.key for c in catalogues.values())]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise self.fail("key", f"{', '.join(duplicates)} used by several resources (identifiers must differ)")
        return identity

    def contact(self, raw: Any) -> Contact:
        entry = self.mapping(raw, "contact", {"name", "email", "address"}, {"name", "email"})
        address = entry.get("address")
        return Contact(self.text(entry["name"], "contact.name"),
                       self.text(entry["email"], "contact.email", _EMAIL, "an e-mail address"),
                       None if address is None else self.text(address, "contact.address"))

    def dates(self, raw: Any) -> tuple[tuple[str, str], ...]:
        entries = self.mapping(raw, "dates", set(_DATE_ROLES), set())
        found = []
        for role, value in entries.items():
            text = self.text(value, f"dates.{role}")
            try:
                dt.date.fromisoformat(text[:10])
            except ValueError:
                raise self.fail(f"dates.{role}", f"{text!r} is not an ISO date (YYYY-MM-DD)") from None
            found.append((role, text))
        return tuple(found)

    def resource(self, raw: Any, where: str, reference_url: str, *, keyed: bool = True,
                 extra: frozenset[str] = frozenset()) -> ResourceText:
        allowed = {"key", "title", "short_name", "description", "subjects", "content_type", "reference_url",
                   "source", "related", "alt_identifiers", *extra}
        entry = self.mapping(raw, where, allowed if keyed else allowed - {"key"},
                             {"title", "description", "subjects"} | ({"key"} if keyed else set()))
        short_name = entry.get("short_name")
        if short_name is not None and len(self.text(short_name, f"{where}.short_name")) > _SHORT_NAME_MAX:
            raise self.fail(f"{where}.short_name", f"{short_name!r} is longer than {_SHORT_NAME_MAX} characters")
        return ResourceText(
            key=self.text(entry["key"], f"{where}.key", _KEY, "a resource key (a/b, no spaces)") if keyed else "",
            title=self.text(entry["title"], f"{where}.title"),
            description=self.text(entry["description"], f"{where}.description"),
            subjects=self.texts(entry["subjects"], f"{where}.subjects"),
            short_name=None if short_name is None else self.text(short_name, f"{where}.short_name"),
            content_type=self.texts(entry.get("content_type"), f"{where}.content_type", required=False),
            reference_url=self.url(entry["reference_url"], f"{where}.reference_url") if "reference_url" in entry
            else reference_url,
            source=self.source(entry.get("source"), f"{where}.source"),
            related=tuple(self.related(item, f"{where}.related[{i}]")
                          for i, item in enumerate(entry.get("related") or [])),
            alt_identifiers=self.texts(entry.get("alt_identifiers"), f"{where}.alt_identifiers", required=False),
        )

    def source(self, raw: Any, where: str) -> tuple[str, str] | None:
        if raw is None:
            return None
        entry = self.mapping(raw, where, {"format", "value"}, {"format", "value"})
        return self.text(entry["format"], f"{where}.format"), self.text(entry["value"], f"{where}.value")

    def related(self, raw: Any, where: str) -> Related:
        entry = self.mapping(raw, where, {"type", "name", "ivo_id", "alt_identifier"}, {"type", "name"})
        ivo_id, alt = entry.get("ivo_id"), entry.get("alt_identifier")
        return Related(self.text(entry["type"], f"{where}.type"), self.text(entry["name"], f"{where}.name"),
                       None if ivo_id is None else self.text(ivo_id, f"{where}.ivo_id", re.compile("^ivo://"),
                                                             "an ivo:// identifier"),
                       None if alt is None else self.text(alt, f"{where}.alt_identifier"))

    def catalogue(self, raw: Any, where: str, reference_url: str) -> CatalogueIdentity:
        text = self.resource(raw, where, reference_url, extra=frozenset({"tables", "schemas"}))
        tables = self.texts(raw.get("tables"), f"{where}.tables", required=False)
        schemas = self.texts(raw.get("schemas"), f"{where}.schemas", required=False)
        if not tables and not schemas:
            raise self.fail(where, "needs tables or schemas (what the TAP service serves of it)")
        return CatalogueIdentity(text, tables, schemas)

    def cone(self, raw: Any, where: str, reference_url: str,
             catalogues: Mapping[str, CatalogueIdentity]) -> ConeIdentity:
        text = self.resource(raw, where, reference_url, extra=frozenset({"catalogue", "test_query"}))
        catalogue = self.text(raw.get("catalogue"), f"{where}.catalogue")
        if catalogue not in catalogues:
            raise self.fail(f"{where}.catalogue", f"{catalogue!r} is not one of the catalogues "
                            f"({', '.join(catalogues) or 'none declared'})")
        query = self.mapping(raw.get("test_query"), f"{where}.test_query", {"ra", "dec", "sr"}, {"ra", "dec", "sr"})
        values = {}
        for name, low, high in (("ra", 0.0, 360.0), ("dec", -90.0, 90.0), ("sr", 0.0, 180.0)):
            value = query[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or not low <= value <= high:
                raise self.fail(f"{where}.test_query.{name}", f"must be a number of degrees in [{low:g}, {high:g}]")
            values[name] = float(value)
        return ConeIdentity(text, catalogue, TestQuery(**values))


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
