"""Parse DALI/TAP request parameters (TAP 1.1 §2.3, DALI 1.1 §3) into a ``TapRequest``.

Parameter names are case-insensitive; so are the values of REQUEST and LANG. Unknown
parameters are ignored (DALI §3.1). GET query strings, urlencoded and multipart POST bodies are
all accepted; multipart file parts are kept for TAP UPLOAD (``param:`` references).

Every parameter is checked here, at the boundary, before anything reaches PostgreSQL: no NUL character
(PostgreSQL text cannot hold one), names of at most ``MAX_NAME_CHARS`` characters, and a request body
of at most ``max_body_bytes``, counted while it arrives (413 as soon as it is passed, before the rest is
spooled to disk).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from jmmctap.errors import JmmctapError, PayloadTooLargeError, UsageError
from jmmctap.settings import Settings

__all__ = [
    "ACCEPTED_LANGS",
    "FORM_OVERHEAD_BYTES",
    "MAX_NAME_CHARS",
    "MAX_RUNID_CHARS",
    "TAP_SINGLE_VALUED",
    "TapRequest",
    "check_single_valued",
    "check_text",
    "limit_body",
    "max_body_bytes",
    "parse_maxrec",
    "parse_tap_parameters",
    "parse_tap_request",
    "read_parameters",
    "single_value",
]

ACCEPTED_LANGS = ("ADQL", "ADQL-2.0", "ADQL-2.1")
"""LANG values run by the ADQL 2.1 engine (ADQL 2.1 accepts ADQL 2.0 queries)."""

MAX_NAME_CHARS = 256
"""Longest parameter or file part name accepted (no DALI or UWS parameter comes near)."""

MAX_RUNID_CHARS = 1024
"""Longest ``RUNID`` (a client's label, echoed in the job document)."""

FORM_OVERHEAD_BYTES = 1 << 20
"""Room for the non-file parameters (QUERY...) and multipart framing in a body, beside the uploads."""

TAP_SINGLE_VALUED = frozenset({"REQUEST", "LANG", "QUERY", "FORMAT", "RESPONSEFORMAT", "MAXREC", "RUNID"})
"""TAP query parameters that take one value (UPLOAD is the multi-valued one, DALI 1.1 §3.4.5)."""


@dataclass(frozen=True)
class TapRequest:
    """A validated TAP query request."""

    query: str
    lang: str = "ADQL"
    response_format: str | None = None
    maxrec: int = 0
    runid: str | None = None
    uploads: tuple[str, ...] = ()
    files: Mapping[str, UploadFile] = field(default_factory=dict)


def max_body_bytes(settings: Settings) -> int:
    """Largest request body: the uploads of one request share ``upload_max_bytes``, plus the other fields."""
    return settings.upload_max_bytes + FORM_OVERHEAD_BYTES


async def read_parameters(
    request: Request, max_body: int | None = None
) -> tuple[dict[str, list[str]], dict[str, UploadFile]]:
    """All parameters of the request, names upper-cased, values in order; plus multipart files.

    Raises
    ------
    UsageError
        A malformed body, a NUL character, an overlong name.
    PayloadTooLargeError
        The body is (or announces to be) larger than ``max_body`` bytes.
    """
    params: dict[str, list[str]] = {}
    files: dict[str, UploadFile] = {}
    for key, value in request.query_params.multi_items():
        _add(params, key, value)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            if max_body is not None:
                limit_body(request, max_body)
            try:
                form = await request.form()
            except JmmctapError:
                raise
            except Exception as exc:  # malformed bodies of any kind are the client's problem
                raise UsageError(f"cannot read the request body: {exc}") from None
            for key, item in form.multi_items():
                if isinstance(item, UploadFile):
                    check_text(key, "a file part name", MAX_NAME_CHARS)
                    files[key] = item
                else:
                    _add(params, key, item)
    return params, files


def check_text(value: str, what: str, max_chars: int | None = None) -> str:
    """``value`` if PostgreSQL can store it and it is not longer than ``max_chars``; else ``UsageError``."""
    if "\x00" in value:
        raise UsageError(f"{what} contains a NUL character")
    if max_chars is not None and len(value) > max_chars:
        raise UsageError(f"{what} is longer than {max_chars} characters")
    return value


def _add(params: dict[str, list[str]], name: str, value: str) -> None:
    check_text(name, "a parameter name", MAX_NAME_CHARS)
    check_text(value, f"the {name[:MAX_NAME_CHARS]} parameter")
    params.setdefault(name.upper(), []).append(value)


def limit_body(request: Request, limit: int) -> None:
    """Refuse a body announced larger than ``limit``, and stop reading one that grows past it.

    Raises
    ------
    PayloadTooLargeError
        At once for a ``Content-Length`` over the limit; else from the read that passes it.
    """
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the request body is larger than the limit of {limit} bytes")
    receive = request.receive
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise PayloadTooLargeError(f"the request body is larger than the limit of {limit} bytes")
        return message

    request._receive = limited  # the form parser reads through it; Starlette has no public hook for this


def parse_tap_parameters(
    params: Mapping[str, Sequence[str]], settings: Settings, files: Mapping[str, UploadFile] | None = None
) -> TapRequest:
    """Validate TAP query parameters (shared by sync and async)."""
    request = single_value(params, "REQUEST")
    if request is not None and request.lower() != "doquery":
        raise UsageError(f"REQUEST={request} is not supported: use REQUEST=doQuery")
    lang = single_value(params, "LANG") or "ADQL"
    if lang.upper() not in ACCEPTED_LANGS:
        raise UsageError(f"LANG={lang} is not supported: use one of {', '.join(ACCEPTED_LANGS)}")
    query = single_value(params, "QUERY")
    if query is None or not query.strip():
        raise UsageError("the QUERY parameter is missing or empty")
    return TapRequest(
        query=query,
        lang=lang.upper(),
        response_format=single_value(params, "RESPONSEFORMAT") or single_value(params, "FORMAT"),
        maxrec=parse_maxrec(single_value(params, "MAXREC"), settings),
        runid=_runid(single_value(params, "RUNID")),
        uploads=tuple(params.get("UPLOAD", ())),
        files=dict(files or {}),
    )


async def parse_tap_request(request: Request, settings: Settings) -> TapRequest:
    """Read and validate the TAP parameters of an HTTP request."""
    params, files = await read_parameters(request, max_body_bytes(settings))
    return parse_tap_parameters(params, settings, files)


def single_value(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The value of a parameter given at most once (several identical values are tolerated).

    The one rule for a repeated single-valued parameter (DALI 1.1 §3: an error), used by sync and async
    TAP, the UWS control parameters and Simple Cone Search.

    Raises
    ------
    UsageError
        The parameter is given several times with different values.
    """
    values = params.get(name)
    if not values:
        return None
    if len(set(values)) > 1:
        raise UsageError(f"the {name} parameter is given several times with different values")
    return values[0]


def _runid(raw: str | None) -> str | None:
    return None if raw is None else check_text(raw, "RUNID", MAX_RUNID_CHARS)


def check_single_valued(params: Mapping[str, Sequence[str]], names: Iterable[str]) -> None:
    """Apply ``single_value``'s rule to each of ``names`` at once (e.g. when a job is created).

    Raises
    ------
    UsageError
        One of them is given several times with different values.
    """
    for name in sorted(names):
        single_value(params, name)


def parse_maxrec(raw: str | None, settings: Settings) -> int:
    """The row limit asked for by ``MAXREC`` (TAP, SCS), within the settings' limits.

    No value gives ``maxrec_default``; a negative one "as many as allowed", ``maxrec_hard``.

    Raises
    ------
    UsageError
        The value is not an integer.
    """
    if raw is None or not raw.strip():
        return settings.maxrec_default
    try:
        value = int(raw.strip())
    except ValueError:
        raise UsageError(f"MAXREC={raw} is not an integer") from None
    if value < 0:  # PRACTICE: vollt clients send MAXREC=-1 for "no limit" (DALI does not define it)
        return settings.maxrec_hard
    return min(value, settings.maxrec_hard)
