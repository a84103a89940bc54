"""Result formats: streaming writers of query results (VOTable TABLEDATA/BINARY/BINARY2, CSV, TSV, JSON, HTML).

::

    writer = formats.get(request.response_format)      # UsageError for an unknown format
    writer.check(translation.columns)                   # UsageError for a column it cannot hold, before any query
    StreamingResponse(writer.write(stream, ResultInfo(request_time=now)), media_type=writer.media_type)

``formats.write_error(message)`` is the DALI error document; :mod:`jmmctap.formats.registry` tells
why the default is VOTable BINARY2.
"""

from __future__ import annotations

from jmmctap.formats.registry import DEFAULT, OutputFormat, all_formats, get, record_builder
from jmmctap.formats.votable import VOTABLE_NS, write_error
from jmmctap.formats.writer import Ending, ResultInfo, ServiceDescriptor, Writer

__all__ = [
    "DEFAULT",
    "VOTABLE_NS",
    "Ending",
    "OutputFormat",
    "ResultInfo",
    "ServiceDescriptor",
    "Writer",
    "all_formats",
    "get",
    "record_builder",
    "write_error",
]
