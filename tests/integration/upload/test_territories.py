"""POST /territories (admins): a GeoJSON hierarchy imported in any order, refusals naming the feature, repairs,
idempotent re-imports, re-tagging of analyses and sites (smallest territory wins; a border point belongs to
the smaller side), the presigned path for large files; GET /territories and /territories/{code}; the
`territory` filter of GET /sites. Expected values worked out by hand from the polygons below."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.upload.sites_support import CHARCOS, report, sites_of, sql
from tests.integration.upload.support import call, make_user

pytestmark = pytest.mark.integration


def square(west: float, south: float, east: float, north: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def feature(code, name, geometry, parent=None, **extra) -> dict:
    properties = {"code": code, "name": name, **extra}
    if parent is not None:
        properties["parent"] = parent
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


# A city; two health areas splitting it at longitude -65.20 (H1 twice as wide as H2: H2 is the smaller);
# a neighbourhood inside H1 whose east edge is longitude -65.22.
CITY = feature("C", "San Miguel", square(-65.30, -26.90, -65.10, -26.70))
H1 = feature("H1", "Área Oeste", square(-65.30, -26.90, -65.20, -26.70), parent="C")
H2 = feature("H2", "Área Este", square(-65.20, -26.90, -65.15, -26.70), parent="C")
N1 = feature("N1", "Barrio Norte", square(-65.25, -26.82, -65.22, -26.78), parent="H1")
# Children before their parents: the order in the file does not matter.
HIERARCHY = collection(N1, H1, H2, CITY)


def post(user, body, **kwargs):
    return call("POST", "/api/v1/territories", user=user, body=body, **kwargs)


def imported(user, body) -> dict:
    answer = post(user, body)
    assert answer.status == 200, answer.body
    return answer.body


def tag(analysis_id):
    return sql("SELECT territory_code FROM analyses WHERE id = :a", a=analysis_id)[0][0]


def site_tag(analysis_id):
    return sql("SELECT territory_code FROM sites WHERE id = :s", s=sites_of(analysis_id)[0])[0][0]


@pytest.fixture
def admin(upload_env):
    return make_user("admin")


def test_a_hierarchy_imports_in_any_order_and_reads_back(admin):
    body = imported(admin, HIERARCHY)

    assert (body["created"], body["updated"], body["repaired"]) == (4, 0, 0)
    page = call("GET", "/api/v1/territories", user=make_user(), query={}).body
    assert [(t["code"], t["parent"], t["level"]) for t in page["items"]] == [
        ("C", None, 0),
        ("H1", "C", 1),
        ("H2", "C", 1),
        ("N1", "H1", 2),
    ]
    assert page["total"] == 4
    assert "geometry" not in page["items"][0]
    children = call("GET", "/api/v1/territories", user=admin, query={"parent": "C"}).body
    assert [t["code"] for t in children["items"]] == ["H1", "H2"]
    level2 = call("GET", "/api/v1/territories", user=admin, query={"level": 2, "include_geometry": "true"}).body
    assert [t["code"] for t in level2["items"]] == ["N1"]
    assert level2["items"][0]["geometry"]["type"] == "MultiPolygon"
    one = call("GET", "/api/v1/territories/H1", user=admin)
    assert one.status == 200
    assert (one.body["name"], one.body["children"], one.body["level"]) == ("Área Oeste", ["N1"], 1)
    ring = one.body["geometry"]["coordinates"][0][0]
    assert sorted({tuple(p) for p in ring}) == [(-65.3, -26.9), (-65.3, -26.7), (-65.2, -26.9), (-65.2, -26.7)]
    # H1 is 0.1° × 0.2°: about 9.94 km × 22.2 km ≈ 221 km² at this latitude
    assert 215e6 < one.body["area_m2"] < 227e6
    assert call("GET", "/api/v1/territories/NOPE", user=admin).status == 404


def test_import_tags_with_the_smallest_territory_and_re_imports_retag_only_what_changed(admin):
    owner = make_user()
    inside_n1 = report(owner, -26.80, -65.235)
    on_n1_edge = report(owner, -26.80, -65.22)  # N1's east edge, inside H1: the border belongs to N1
    on_h1_h2_border = report(owner, -26.75, -65.20)  # shared by H1 and H2: H2 is the smaller
    in_h1_only = report(owner, -26.85, -65.28)
    outside = report(owner, -27.50, -65.22)

    first = imported(admin, HIERARCHY)

    assert (first["retagged_analyses"], first["retagged_sites"]) == (4, 4)
    assert [tag(a) for a in (inside_n1, on_n1_edge, on_h1_h2_border, in_h1_only, outside)] == [
        "N1",
        "N1",
        "H2",
        "H1",
        None,
    ]
    assert [site_tag(a) for a in (inside_n1, on_h1_h2_border, outside)] == ["N1", "H2", None]

    # The same file again: nothing created, nothing re-tagged
    again = imported(admin, HIERARCHY)
    assert (again["created"], again["updated"], again["retagged_analyses"], again["retagged_sites"]) == (0, 4, 0, 0)

    # N1 shrinks to its eastern third: the point at -65.235 falls back to H1, the edge point stays
    shrunk = imported(admin, collection(feature("N1", "Barrio Norte", square(-65.23, -26.82, -65.22, -26.78), "H1")))
    assert (shrunk["created"], shrunk["updated"], shrunk["retagged_analyses"], shrunk["retagged_sites"]) == (
        0,
        1,
        1,
        1,
    )
    assert (tag(inside_n1), tag(on_n1_edge), site_tag(inside_n1)) == ("H1", "N1", "H1")


def test_the_sites_territory_filter_takes_descendants(admin):
    owner, expert = make_user(), make_user("expert")
    in_n1 = report(owner, -26.80, -65.235, (CHARCOS,))
    in_h1 = report(owner, -26.85, -65.28, (CHARCOS,))
    in_h2 = report(owner, -26.85, -65.17, (CHARCOS,))
    imported(admin, HIERARCHY)

    def codes(territory):
        answer = call("GET", "/api/v1/sites", user=expert, query={"territory": territory})
        assert answer.status == 200, answer.body
        return sorted(str(i["id"]) for i in answer.body["items"])

    assert codes("N1") == [str(sites_of(in_n1)[0])]
    assert codes("H1") == sorted(str(sites_of(a)[0]) for a in (in_n1, in_h1))
    assert codes("C") == sorted(str(sites_of(a)[0]) for a in (in_n1, in_h1, in_h2))
    unknown = call("GET", "/api/v1/sites", user=expert, query={"territory": "ZZ"})
    assert (unknown.status, unknown.error["code"]) == (422, "validation_error")


GOOD = feature("G", "Good", square(-65.30, -26.90, -65.10, -26.70))
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[-65.3, -26.9], [-65.2, -26.8], [-65.2, -26.9], [-65.3, -26.8], [-65.3, -26.9]]],
}
UNCLOSED = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
SQ = GOOD["geometry"]
FLAT = {"type": "Polygon", "coordinates": [[[-65.3, -26.9], [-65.2, -26.9], [-65.1, -26.9], [-65.3, -26.9]]]}

REFUSALS = [
    ({"hello": "world"}, "not_geojson", None),
    ({"type": "Feature", "properties": {}, "geometry": GOOD["geometry"]}, "not_feature_collection", None),
    (collection(), "no_features", None),
    (collection(GOOD, feature("P", "Point", {"type": "Point", "coordinates": [-65.2, -26.8]})), "not_polygon", 1),
    (collection(GOOD, {"type": "Feature", "properties": {"name": "x"}, "geometry": SQ}), "missing_code", 1),
    (collection({"type": "Feature", "properties": {"code": "x"}, "geometry": GOOD["geometry"]}), "missing_name", 0),
    (collection(GOOD, feature("G", "Again", GOOD["geometry"])), "duplicate_code", 1),
    (collection(GOOD, feature("K", "Kid", GOOD["geometry"], parent="NOWHERE")), "unknown_parent", 1),
    (collection(feature("A", "A", GOOD["geometry"], "B"), feature("B", "B", GOOD["geometry"], "A")), "parent_cycle", 0),
    (collection(GOOD, feature("O", "Out", square(-65.3, -26.9, 200.0, -26.7))), "out_of_range", 1),
    (collection(feature("U", "Unclosed", UNCLOSED)), "bad_coordinates", 0),
    (collection(GOOD, feature("F", "Flat", FLAT)), "invalid_geometry", 1),
]  # fmt: skip


@pytest.mark.parametrize(("body", "reason", "index"), REFUSALS, ids=[r[1] for r in REFUSALS])
def test_refusals_name_the_feature_and_write_nothing(admin, body, reason, index):
    answer = post(admin, body, headers={"Accept-Language": "en"})

    assert answer.status == 422, answer.body
    assert answer.error["code"] == "validation_error"
    assert answer.error["details"]["reason"] == reason
    assert answer.error["details"].get("feature") == index
    if index is not None:
        assert answer.error["message"].startswith(f"Feature {index}: ")
    assert sql("SELECT count(*) FROM territories")[0][0] == 0


def test_heights_are_dropped_and_the_territory_is_flat(admin):
    ring = [[-65.3, -26.9, 450.0], [-65.2, -26.9, 451.0], [-65.2, -26.8, 452.0], [-65.3, -26.9, 450.0]]
    body = imported(admin, collection(feature("Z", "With heights", {"type": "Polygon", "coordinates": [ring]})))

    assert body["created"] == 1
    assert sql("SELECT ST_NDims(geometry) FROM territories WHERE code = 'Z'")[0][0] == 2


def test_a_body_that_is_not_json_is_refused(admin):
    answer = post(admin, "{not json", headers={"Content-Type": "application/json"})

    assert answer.status == 422
    assert answer.error["code"] == "validation_error"


def test_a_self_intersecting_polygon_is_repaired_and_said_so(admin):
    body = imported(admin, collection(GOOD, feature("B", "Bowtie", BOWTIE)))

    assert (body["created"], body["repaired"]) == (2, 1)
    assert body["repaired_features"][0]["feature"] == 1
    assert "ST_MakeValid" in body["repaired_features"][0]["message"]
    # The bowtie becomes its two triangles, 0.05° × 0.1° / 2 … each a quarter of the 0.1° square's area
    valid, parts, ratio = sql(
        "SELECT ST_IsValid(b.geometry), ST_NumGeometries(b.geometry), b.area_m2 / g.area_m2 "
        "FROM territories b, territories g WHERE b.code = 'B' AND g.code = 'G'"
    )[0]
    assert (valid, parts) == (True, 2)
    # G is 0.2° × 0.2°, the bowtie's triangles 2 × (0.1 × 0.05 / 2) = 0.005 deg² against 0.04: 1/8
    assert ratio == pytest.approx(0.125, rel=0.01)


@pytest.mark.parametrize("role", ["user", "expert"])
def test_only_admins_import(upload_env, role):
    caller = make_user(role)

    assert post(caller, HIERARCHY).status == 403
    assert call("POST", "/api/v1/territories/uploads", user=caller).status == 403
    assert sql("SELECT count(*) FROM territories")[0][0] == 0


def _big_collection(target_bytes: int) -> bytes:
    """One neighbourhood with a ring of many vertices (a 0.1°-radius polygon), about `target_bytes` long."""
    import math

    vertices = target_bytes // 33
    angles = [2 * math.pi * i / vertices for i in range(vertices)]
    ring = [[round(-65.2 + 0.1 * math.cos(a), 9), round(-26.8 + 0.1 * math.sin(a), 9)] for a in angles]
    ring.append(ring[0])
    document = collection(feature("BIG", "Big", {"type": "Polygon", "coordinates": [ring]}))
    return json.dumps(document).encode()


def test_a_10_mb_file_goes_through_the_presigned_upload(admin, upload_env):
    data = _big_collection(10 * 1024 * 1024)
    assert len(data) > 10_000_000

    started = call("POST", "/api/v1/territories/uploads", user=admin)
    assert started.status == 201, started.body
    upload = started.body
    assert upload["upload_key"].startswith(f"territories/{admin.id}/")
    posted = httpx.post(
        upload["url"], data=upload["fields"], files={"file": ("t.geojson", data, upload["content_type"])}
    )
    assert posted.status_code in (200, 201, 204), posted.text

    # Someone else's key is refused, then the admin's own imports
    other = call("POST", "/api/v1/territories", user=make_user("admin"), body={"upload_key": upload["upload_key"]})
    assert (other.status, other.error["details"]["reason"]) == (422, "bad_upload_key")
    body = imported(admin, {"upload_key": upload["upload_key"]})

    assert (body["created"], body["updated"]) == (1, 0)
    # A circle of radius 0.1°: π × (0.1 × 110.8 km) × (0.1 × 99.4 km) ≈ 346 km²
    area = sql("SELECT area_m2 FROM territories WHERE code = 'BIG'")[0][0]
    assert 340e6 < area < 352e6
    # The file is gone once imported: the same key again names nothing
    again = post(admin, {"upload_key": upload["upload_key"]})
    assert (again.status, again.error["details"]["reason"]) == (422, "bad_upload_key")


def test_a_small_file_goes_through_the_presigned_upload_too(admin, upload_env):
    """The presigned path at a size every run can afford (the 10 MB test above is the same path at size)."""
    started = call("POST", "/api/v1/territories/uploads", user=admin)
    assert started.status == 201, started.body
    upload = started.body
    assert upload["upload_key"].startswith(f"territories/{admin.id}/") and upload["upload_key"].endswith(".geojson")
    assert (upload["content_type"], upload["max_bytes"]) == ("application/geo+json", 50 * 1024 * 1024)
    assert upload["expires_at"] and upload["fields"]["key"] == upload["upload_key"]
    data = json.dumps(HIERARCHY).encode()
    posted = httpx.post(
        upload["url"], data=upload["fields"], files={"file": ("t.geojson", data, "application/geo+json")}
    )
    assert posted.status_code in (200, 201, 204), posted.text

    # A key outside the caller's own prefix, or climbing out of it, is refused before S3 is asked
    outside = post(admin, {"upload_key": f"territories/{make_user('admin').id}/x.geojson"})
    climbing = post(admin, {"upload_key": f"territories/{admin.id}/../x.geojson"})
    extra = post(admin, {"upload_key": upload["upload_key"], "more": 1})
    assert [(a.status, a.error["details"]["reason"]) for a in (outside, climbing, extra)] == [
        (422, "bad_upload_key"),
        (422, "bad_upload_key"),
        (422, "bad_upload_key"),
    ]
    body = imported(admin, {"upload_key": upload["upload_key"]})

    assert (body["created"], body["updated"], body["repaired"]) == (4, 0, 0)
    # Imported once: the file is deleted, the same key names nothing now
    again = post(admin, {"upload_key": upload["upload_key"]})
    assert (again.status, again.error["details"]["reason"]) == (422, "bad_upload_key")


def test_an_uploaded_file_that_is_not_json_is_refused_and_deleted(admin, upload_env):
    upload = call("POST", "/api/v1/territories/uploads", user=admin).body
    posted = httpx.post(upload["url"], data=upload["fields"], files={"file": ("t.geojson", b"{not json", "x/y")})
    assert posted.status_code in (200, 201, 204), posted.text

    refused = post(admin, {"upload_key": upload["upload_key"]})

    assert (refused.status, refused.error["details"]["reason"]) == (422, "not_json")
    again = post(admin, {"upload_key": upload["upload_key"]})
    assert again.error["details"]["reason"] == "bad_upload_key"
