"""The OAI-PMH 2.0 protocol of the publishing registry: the six verbs, their arguments and errors.

``answer_oai`` takes the request's parameters (GET query or POST form) and a ``Snapshot`` of the
records and returns the response document; every protocol error is an OAI ``<error>`` answered with
HTTP 200 (OAI-PMH §3.6). Resumption tokens carry the harvest's arguments and the datestamp and
identifier of the last record sent, so they need no server state and survive a restart; a record
changed during a harvest gets a later datestamp and comes again at the end of the list, never lost.
``noSetHierarchy`` is never answered: the registry has the set ``ivo_managed``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from jmmctap.registry.identity import Identity
from jmmctap.registry.oaixml import (
    METADATA_FORMATS,
    OAI_NS,
    add_header,
    add_record,
    format_datestamp,
    new_response,
    serialize,
)
from jmmctap.registry.records import render_record
from jmmctap.registry.service import Entry, Snapshot

__all__ = ["ERROR_CODES", "MANAGED_SET", "OaiError", "answer_oai"]

MANAGED_SET = "ivo_managed"
"""The set of every record this registry originates (Registry Interfaces 1.1 §2.6)."""

ERROR_CODES = ("badArgument", "badResumptionToken", "badVerb", "cannotDisseminateFormat", "idDoesNotExist",
               "noRecordsMatch", "noMetadataFormats", "noSetHierarchy")
"""Every OAI-PMH 2.0 error code (§3.6)."""

_ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # verb: (required, optional) arguments; resumptionToken is exclusive (checked apart)
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set", "resumptionToken"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set", "resumptionToken"})),
}
_Verb = Callable[[Mapping[str, str], "Snapshot", Identity, str, int], etree._Element]
"""Answers one verb: (arguments, records, identity, base URL, page size) -> the verb's element."""
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class OaiError(Exception):
    """An OAI-PMH error: its code and a message for the harvester's operator."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        assert code in ERROR_CODES
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Harvest:
    """The arguments of a list request, as given or read back from a resumption token."""

    prefix: str
    start: datetime | None
    end: datetime | None
    """Exclusive upper bound (``until`` plus its granularity)."""
    set_spec: str | None
    after: tuple[datetime, str] | None = None
    cursor: int = 0


def answer_oai(params: Mapping[str, Sequence[str]], snapshot: Snapshot, identity: Identity, base_url: str,
               page_size: int, now: datetime | None = None) -> bytes:
    """The OAI-PMH response document to a request.

    Parameters
    ----------
    params
        Every parameter of the request with all its values (names are case-sensitive in OAI-PMH).
    snapshot
        The records, current and deleted, with their datestamps.
    identity
        The registry's identity (Identify).
    base_url
        The OAI base URL (``request`` element, ``baseURL``).
    page_size
        Records or headers per list response before a resumption token.
    now
        The response date (tests); the current time when None.
    """
    now = now or datetime.now(UTC)
    try:
        verb, arguments = _parse(params)
    except OaiError as error:
        return _error_document(base_url, now, None, [error])
    root = new_response(base_url, now, {"verb": verb, **arguments})
    try:
        body = _VERBS[verb](arguments, snapshot, identity, base_url, page_size)
    except OaiError as error:
        return _error_document(base_url, now, {"verb": verb, **arguments}, [error])
    root.append(body)
    return serialize(root)


def _parse(params: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, str]]:
    verbs = params.get("verb", [])
    if len(verbs) != 1 or verbs[0] not in _ARGUMENTS:
        why = "no verb given" if not verbs else "the verb is repeated" if len(verbs) > 1 else \
            f"{verbs[0]!r} is not an OAI-PMH verb"
        raise OaiError("badVerb", f"{why}; verbs: {', '.join(_ARGUMENTS)}")
    verb = verbs[0]
    required, optional = _ARGUMENTS[verb]
    arguments: dict[str, str] = {}
    for name, values in params.items():
        if name == "verb":
            continue
        if name not in required | optional:
            raise OaiError("badArgument", f"{verb} takes no argument {name!r}")
        if len(values) != 1:
            raise OaiError("badArgument", f"the argument {name} is repeated")
        arguments[name] = values[0]
    if "resumptionToken" in arguments:
        if len(arguments) > 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument: give it alone with the verb")
        return verb, arguments
    missing = sorted(required - set(arguments))
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise OaiError("badArgument", f"{verb} needs the argument{plural} {', '.join(missing)}")
    return verb, arguments


def _error_document(base_url: str, now: datetime, arguments: Mapping[str, str] | None,
                    errors: Sequence[OaiError]) -> bytes:
    # OAI-PMH §3.2: after badVerb or badArgument the request element carries no attributes
    bad_request = any(e.code in ("badVerb", "badArgument") for e in errors)
    root = new_response(base_url, now, None if bad_request else arguments)
    for error in errors:
        etree.SubElement(root, f"{{{OAI_NS}}}error", code=error.code).text = error.message
    return serialize(root)


def _identify(arguments: Mapping[str, str], snapshot: Snapshot, identity: Identity, base_url: str,
              page_size: int) -> etree._Element:
    body = etree.Element(f"{{{OAI_NS}}}Identify")
    earliest = min((e.datestamp for e in snapshot.entries), default=datetime.now(UTC))
    for tag, value in (("repositoryName", identity.registry.title), ("baseURL", base_url),
                       ("protocolVersion", "2.0"), ("adminEmail", identity.contact.email),
                       ("earliestDatestamp", format_datestamp(earliest)),
                       ("deletedRecord", "persistent"), ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
        etree.SubElement(body, f"{{{OAI_NS}}}{tag}").text = value
    registry = snapshot.find(identity.identifier(identity.registry.key))
    if registry is not None and registry.record is not None:  # RI 1.1 §2.5: the vg:Registry record
        description = etree.SubElement(body, f"{{{OAI_NS}}}description")
        description.append(render_record(registry.record, registry.stamp.created, registry.stamp.updated))
    return body


def _list_metadata_formats(arguments: Mapping[str, str], snapshot: Snapshot, identity: Identity, base_url: str,
                           page_size: int) -> etree._Element:
    if "identifier" in arguments:
        _find(snapshot, arguments["identifier"])
    body = etree.Element(f"{{{OAI_NS}}}ListMetadataFormats")
    for known in METADATA_FORMATS:
        element = etree.SubElement(body, f"{{{OAI_NS}}}metadataFormat")
        for tag, value in (("metadataPrefix", known.prefix), ("schema", known.schema),
                           ("metadataNamespace", known.namespace)):
            etree.SubElement(element, f"{{{OAI_NS}}}{tag}").text = value
    return body


def _list_sets(arguments: Mapping[str, str], snapshot: Snapshot, identity: Identity, base_url: str,
               page_size: int) -> etree._Element:
    if "resumptionToken" in arguments:
        raise OaiError("badResumptionToken", "the list of sets is never split: no resumption token is valid here")
    body = etree.Element(f"{{{OAI_NS}}}ListSets")
    element = etree.SubElement(body, f"{{{OAI_NS}}}set")
    etree.SubElement(element, f"{{{OAI_NS}}}setSpec").text = MANAGED_SET
    etree.SubElement(element, f"{{{OAI_NS}}}setName").text = MANAGED_SET
    return body


def _get_record(arguments: Mapping[str, str], snapshot: Snapshot, identity: Identity, base_url: str,
                page_size: int) -> etree._Element:
    entry = _find(snapshot, arguments["identifier"])
    prefix = _check_prefix(arguments["metadataPrefix"])
    body = etree.Element(f"{{{OAI_NS}}}GetRecord")
    add_record(body, entry, prefix, MANAGED_SET, identity)
    return body


def _list(verb: str) -> _Verb:
    def answer(arguments: Mapping[str, str], snapshot: Snapshot, identity: Identity, base_url: str,
               page_size: int) -> etree._Element:
        token = arguments.get("resumptionToken")
        harvest = _read_token(token) if token is not None else _harvest_of(arguments)
        selected = [e for e in snapshot.entries if _matches(harvest, e)]
        remaining = [e for e in selected if harvest.after is None or (e.datestamp, e.identifier) > harvest.after]
        if not remaining:
            raise OaiError("noRecordsMatch", "no record matches these arguments")
        page = remaining[:page_size]
        body = etree.Element(f"{{{OAI_NS}}}{verb}")
        for entry in page:
            if verb == "ListRecords":
                add_record(body, entry, harvest.prefix, MANAGED_SET, identity)
            else:
                add_header(body, entry, MANAGED_SET)
        size = harvest.cursor + len(remaining)  # records already sent and those still to come
        if len(remaining) > len(page):
            last = page[-1]
            following = _Harvest(harvest.prefix, harvest.start, harvest.end, harvest.set_spec,
                                 (last.datestamp, last.identifier), harvest.cursor + len(page))
            _add_token(body, _write_token(following), size, harvest.cursor)
        elif token is not None:  # OAI-PMH §3.5: the last part carries an empty token
            _add_token(body, "", size, harvest.cursor)
        return body
    return answer


def _add_token(body: etree._Element, text: str, size: int, cursor: int) -> None:
    etree.SubElement(body, f"{{{OAI_NS}}}resumptionToken", completeListSize=str(size), cursor=str(cursor)).text = text


def _harvest_of(arguments: Mapping[str, str]) -> _Harvest:
    start = _parse_date(arguments, "from")
    until = _parse_date(arguments, "until")
    if start and until and len(arguments["from"]) != len(arguments["until"]):
        raise OaiError("badArgument", "from and until must have the same granularity")
    end = None if until is None else until + (timedelta(days=1) if _DAY.match(arguments["until"])
                                              else timedelta(seconds=1))
    if start and end and start >= end:
        raise OaiError("badArgument", "from is later than until")
    prefix = _check_prefix(arguments["metadataPrefix"])
    return _Harvest(prefix, start, end, arguments.get("set"))


def _parse_date(arguments: Mapping[str, str], name: str) -> datetime | None:
    text = arguments.get(name)
    if text is None:
        return None
    try:
        if _DAY.match(text):
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        if _SECOND.match(text):
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        pass
    raise OaiError("badArgument", f"{name}={text!r} is not a UTC date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")


def _matches(harvest: _Harvest, entry: Entry) -> bool:
    if harvest.set_spec is not None and harvest.set_spec != MANAGED_SET:
        return False  # a set we do not have matches nothing (noRecordsMatch)
    return (harvest.start is None or entry.datestamp >= harvest.start) and \
        (harvest.end is None or entry.datestamp < harvest.end)


def _check_prefix(prefix: str) -> str:
    if prefix not in {f.prefix for f in METADATA_FORMATS}:
        raise OaiError("cannotDisseminateFormat",
                       f"metadataPrefix {prefix!r} is not served; use one of "
                       f"{', '.join(f.prefix for f in METADATA_FORMATS)}")
    return prefix


def _find(snapshot: Snapshot, identifier: str) -> Entry:
    entry = snapshot.find(identifier)
    if entry is None:
        raise OaiError("idDoesNotExist", f"no record has the identifier {identifier!r}")
    return entry


def _write_token(harvest: _Harvest) -> str:
    assert harvest.after is not None
    fields = [harvest.prefix, _epoch(harvest.start), _epoch(harvest.end), harvest.set_spec,
              _epoch(harvest.after[0]), harvest.after[1], harvest.cursor]
    return base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode().rstrip("=")


def _read_token(token: str) -> _Harvest:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        prefix, start, end, set_spec, after, last_id, cursor = raw
        if not (isinstance(prefix, str) and isinstance(last_id, str) and isinstance(cursor, int) and cursor >= 0
                and (set_spec is None or isinstance(set_spec, str))
                and all(v is None or isinstance(v, int) for v in (start, end)) and isinstance(after, int)):
            raise ValueError("malformed token")
        _check_prefix(prefix)
        return _Harvest(prefix, _from_epoch(start), _from_epoch(end), set_spec,
                        (datetime.fromtimestamp(after, UTC), last_id), cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OaiError, OverflowError, OSError):
        raise OaiError("badResumptionToken", "this resumption token was not issued by this registry") from None


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _from_epoch(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


_VERBS: dict[str, _Verb] = {
    "Identify": _identify, "ListMetadataFormats": _list_metadata_formats, "ListSets": _list_sets,
    "GetRecord": _get_record, "ListIdentifiers": _list("ListIdentifiers"), "ListRecords": _list("ListRecords"),
}
