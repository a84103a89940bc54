"""Simple Cone Search 1.03 on /scs/obsportal, /scs/jsdc (and /scs/badcal): pyvo, UCD1 columns, VERB, errors,
capabilities. BadCal's cone search is told in tests/submissions/test_badcal_reports.py."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import pyvo
from astropy.io.votable import parse
from lxml import etree

from jmmctap.catalogues.samples import load_samples
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.support.shared import SAMPLES

GC_IRS7 = (266.417056, -29.00614)
SIRIUS = (101.28713858, -16.71607528)
ETA_TAU = (56.8712, 24.1051)


@pytest.fixture(scope="module")
def scs_root(settings: Settings, live_server: str) -> Iterator[str]:
    """The live server's root URL, on the loaded samples (other modules may have emptied the catalogues)."""
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        load_samples(conn, settings)
    yield live_server.removesuffix("/tap")


def _fields(body: bytes) -> list[tuple[str, str | None]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(io.BytesIO(body)).get_first_table()
    return [(f.name, f.ucd) for f in table.fields]


def _tap_count(root: str, adql: str) -> int:
    response = httpx.post(f"{root}/tap/sync", data={"LANG": "ADQL", "QUERY": adql, "FORMAT": "csv"})
    assert response.status_code == 200, response.text
    return int(response.text.splitlines()[1])


def test_pyvo_cone_search_on_the_exposures(scs_root: str) -> None:
    service = pyvo.dal.SCSService(f"{scs_root}/scs/obsportal?")
    results = service.search(pos=GC_IRS7, radius=0.01)
    assert len(results) == 50
    expected = _tap_count(scs_root, "SELECT COUNT(*) FROM obsportal.exposures WHERE 1 = CONTAINS("
                          "POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 266.417056, -29.00614, 0.01))")
    assert len(results) == expected
    record = results[0]
    assert record.id.startswith("AMBER.2006-03-14T")
    assert abs(record.pos.ra.deg - GC_IRS7[0]) < 1e-6 and abs(record.pos.dec.deg - GC_IRS7[1]) < 1e-6
    assert set(results["instrument_name"]) == {"AMBER"}


def test_pyvo_cone_search_on_jsdc_sorted_by_distance(scs_root: str) -> None:
    results = pyvo.dal.SCSService(f"{scs_root}/scs/jsdc?").search(pos=ETA_TAU, radius=1.0)
    expected = _tap_count(scs_root, "SELECT COUNT(*) FROM jsdc.jsdc_v2 WHERE 1 = CONTAINS("
                          "POINT('ICRS', RAJ2000, DEJ2000), CIRCLE('ICRS', 56.8712, 24.1051, 1.0))")
    assert 0 < len(results) == expected
    assert list(results["dist"]) == sorted(results["dist"]) and max(results["dist"]) <= 1.0
    sirius = pyvo.dal.SCSService(f"{scs_root}/scs/jsdc?").search(pos=SIRIUS, radius=1 / 3600)
    assert [r.id for r in sirius] == ["1001"] and sirius["LDD"][0] == pytest.approx(6.380782)


@pytest.mark.parametrize("catalogue", ["obsportal", "jsdc"])
def test_exactly_one_field_carries_each_scs_ucd(scs_root: str, catalogue: str) -> None:
    for verb in ("1", "2", "3"):
        body = httpx.get(f"{scs_root}/scs/{catalogue}", params={"RA": 0, "DEC": 90, "SR": 0, "VERB": verb}).content
        ucds = [ucd for _, ucd in _fields(body)]
        for required in ("ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"):
            assert ucds.count(required) == 1, (verb, required)


def test_verb_selects_minimal_default_or_all_columns(scs_root: str) -> None:
    widths = {}
    for verb in ("1", "2", "3", "7"):
        response = httpx.get(f"{scs_root}/scs/jsdc", params={"ra": 56.87, "dec": 24.1, "sr": 0.5, "verb": verb})
        widths[verb] = [name for name, _ in _fields(response.content)]
    assert widths["1"] == ["id", "RAJ2000", "DEJ2000"]
    assert "LDD" in widths["2"] and "Vmag_origin" not in widths["2"]
    assert {"Vmag_origin", "LDD_confidence", "UDDK"} <= set(widths["3"]) and len(widths["3"]) == len(set(widths["3"]))
    assert widths["7"] == widths["2"]  # an unsupported VERB means the default (SCS 1.03)


def test_exposure_columns_are_those_aspro2_reads_from_obsportal(scs_root: str) -> None:
    ours = {name for name, _ in _fields(httpx.get(f"{scs_root}/scs/obsportal",
                                                  params={"RA": 0, "DEC": 90, "SR": 0}).content)}
    for path in sorted((SAMPLES / "obsportal").glob("*.xml")):
        real = {name for name, _ in _fields(path.read_bytes())}
        # exp_header is the pre-2022 name of exp_header_id; obs_program_title is not in the ESO headers
        assert real - ours <= {"exp_header", "obs_program_title"}, path.name


def test_sr_zero_is_a_metadata_query_without_rows(scs_root: str) -> None:
    response = httpx.get(f"{scs_root}/scs/obsportal", params={"RA": GC_IRS7[0], "DEC": GC_IRS7[1], "SR": 0})
    assert response.status_code == 200 and b"<TR>" not in response.content
    assert len(_fields(response.content)) > 20


def test_maxrec_cuts_with_an_overflow_status(scs_root: str) -> None:
    response = httpx.get(f"{scs_root}/scs/obsportal", params={"RA": GC_IRS7[0], "DEC": GC_IRS7[1], "SR": 0.01,
                                                            "MAXREC": 3})
    assert response.content.count(b"<TR>") == 3 and b'name="QUERY_STATUS" value="OVERFLOW"' in response.content


def test_post_is_accepted_too(scs_root: str) -> None:
    response = httpx.post(f"{scs_root}/scs/jsdc", data={"RA": SIRIUS[0], "DEC": SIRIUS[1], "SR": 0.001})
    assert response.content.count(b"<TR>") == 1


@pytest.mark.parametrize("params", [
    {"DEC": 10, "SR": 1},
    {"RA": "ten", "DEC": 10, "SR": 1},
    {"RA": 10, "DEC": 91, "SR": 1},
    {"RA": 10, "DEC": 10, "SR": -1},
    {"RA": 10, "DEC": 10, "SR": 90},
    {"RA": "nan", "DEC": 10, "SR": 1},
    {"RA": 10, "DEC": 10, "SR": 1, "MAXREC": "many"},
])
def test_bad_requests_get_an_scs_error_document(scs_root: str, params: dict[str, object]) -> None:
    response = httpx.get(f"{scs_root}/scs/obsportal", params=params)  # type: ignore[arg-type]
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    ns = {"v": "http://www.ivoa.net/xml/VOTable/v1.3"}
    (error,) = root.findall("v:INFO[@name='Error']", ns)
    assert error.get("value") and root.find(".//v:TABLE", ns) is None
    with pytest.raises(pyvo.dal.DALQueryError, match=error.get("value")[:20].replace("(", r"\(")):
        pyvo.dal.SCSQuery(f"{scs_root}/scs/obsportal?", **params).execute()


@pytest.mark.parametrize("name", ["RA", "DEC", "SR", "MAXREC", "VERB"])
def test_a_parameter_given_twice_differently_is_an_error(scs_root: str, name: str) -> None:
    params: dict[str, object] = {"RA": SIRIUS[0], "DEC": SIRIUS[1], "SR": 0.001, "MAXREC": 5, "VERB": 1}
    params[name] = [params[name], 2]
    response = httpx.get(f"{scs_root}/scs/jsdc", params=params)  # type: ignore[arg-type]
    assert response.status_code == 200  # SCS 1.03: errors are documents
    assert f"the {name} parameter is given several times".encode() in response.content
    assert b"<TR>" not in response.content


def test_an_unknown_catalogue_is_not_found(scs_root: str) -> None:
    response = httpx.get(f"{scs_root}/scs/simbad", params={"RA": 1, "DEC": 1, "SR": 1})
    assert response.status_code == 404 and b'name="Error"' in response.content


def test_capabilities_declare_every_cone_search_and_obscore(scs_root: str) -> None:
    root = etree.fromstring(httpx.get(f"{scs_root}/tap/capabilities").content)
    urls = root.xpath("//capability[@standardID='ivo://ivoa.net/std/ConeSearch']/interface/accessURL")
    assert [(u.text, u.get("use")) for u in urls] == [(f"{scs_root}/scs/obsportal?", "base"),
                                                    (f"{scs_root}/scs/jsdc?", "base"),
                                                    (f"{scs_root}/scs/badcal?", "base")]
    models = root.xpath("//*[local-name()='dataModel']/@ivo-id")
    assert "ivo://ivoa.net/std/ObsCore#core-1.1" in models
