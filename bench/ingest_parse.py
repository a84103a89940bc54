"""Time the Python side of an ingest alone (no database): rows or COPY blocks produced per second.

    .venv/bin/python bench/ingest_parse.py /tmp/mid.td.vot [--slow]

``--slow`` forces the lxml TABLEDATA path (``rows()``) for comparison with the fast path (``copy_items()``).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from jmmctap.ingest.sources import open_source
from jmmctap.ingest.tabledata_fast import CopyText
from jmmctap.ingest.votable import VOTableSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--slow", action="store_true", help="rows() instead of copy_items()")
    args = parser.parse_args()
    source = open_source(args.file)
    start, cpu = time.perf_counter(), time.process_time()
    rows = blocks = 0
    if args.slow or not isinstance(source, VOTableSource):
        for _ in source.rows():
            rows += 1
    else:
        for item in source.copy_items():
            if isinstance(item, CopyText):
                rows += item.rows
                blocks += 1
            else:
                rows += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.file.name}: {rows} rows ({blocks} COPY text blocks) in {wall:.2f} s wall, {cpu:.2f} s CPU,"
          f" {rows / wall:,.0f} rows/s, peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
