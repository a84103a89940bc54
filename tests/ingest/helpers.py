"""Small generated VOTables for the ingest tests (astropy writes them; the ingester never sees astropy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io.votable.tree import Field, Resource, TableElement, VOTableFile

__all__ = ["write_votable"]


def write_votable(path: Path, n_rows: int, *, serialization: str = "tabledata", offset: int = 0,
                  version: str = "1.4") -> Path:
    """A table of ``n_rows`` stars: id, ra, dec (main position), vmag (float, NULL every 7th), name, ok."""
    votable = VOTableFile(version=version)
    resource = Resource()
    votable.resources.append(resource)
    table = TableElement(votable, name="stars")
    resource.tables.append(table)
    table.fields.extend([
        Field(votable, name="id", datatype="long", ucd="meta.id;meta.main"),
        Field(votable, name="ra", datatype="double", unit="deg", ucd="pos.eq.ra;meta.main"),
        Field(votable, name="dec", datatype="double", unit="deg", ucd="pos.eq.dec;meta.main"),
        Field(votable, name="vmag", datatype="float", unit="mag", ucd="phot.mag;em.opt.V"),
        Field(votable, name="name", datatype="unicodeChar", arraysize="*", ucd="meta.id"),
        Field(votable, name="ok", datatype="boolean"),
    ])
    table.create_arrays(n_rows)
    ids = np.arange(offset, offset + n_rows)
    table.array["id"] = ids
    table.array["ra"] = (ids * 7.31) % 360
    table.array["dec"] = ((ids * 3.77) % 180) - 90
    table.array["vmag"] = (ids % 13) * 0.5
    table.array["vmag"].mask = ids % 7 == 0
    table.array["name"] = [f"star {i} \"q\" 'a' θ" for i in ids]
    table.array["ok"] = ids % 2 == 0
    table.format = serialization
    votable.to_xml(str(path), compressed=path.suffix == ".gz")
    return path
