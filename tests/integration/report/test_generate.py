"""POST /reports/generate: every type in every format, provenance, consistent denominators, fingerprint."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.integration.report.pdf_tools import embedded_images, pdf_text, render_first_page
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

TYPES = ("summary", "detailed", "statistics", "map")
FORMATS = ("pdf", "csv", "json")
MEDIA = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "json": "application/json"}


@pytest.fixture
def seeded(user, other_user):
    """user: 3 analyses (ALTO, MEDIO, MINIMO), 5 detections; other_user: 1 analysis (ALTO), 2 detections."""
    now = datetime.now(UTC)
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=-26.80, longitude=-65.20, created_at=now - timedelta(days=3),
                      risk_level="ALTO", detections=[0, 0, D(2, expires_at=now - timedelta(hours=2))])  # fmt: skip
        make_analysis(s, user=user.id, latitude=-26.82, longitude=-65.23, created_at=now - timedelta(days=2),
                      risk_level="MEDIO", detections=[3, 1])  # fmt: skip
        make_analysis(s, user=user.id, created_at=now - timedelta(days=1), risk_level="MINIMO")
        make_analysis(s, user=other_user.id, latitude=-26.75, longitude=-65.15, created_at=now - timedelta(hours=5),
                      risk_level="ALTO", detections=[0, D(1, validation_status="validated_positive")])  # fmt: skip
    return now


def generate(caller, body):
    """A report over every detection, expired ones included (these tests count them all; the active-only
    default is tested on its own)."""
    filters = {"include_expired": True, **body.get("filters", {})}
    return call("POST", "/api/v1/reports/generate", caller=caller, body={**body, "filters": filters})


def _float(value) -> str:
    text_ = repr(float(value))
    return text_[:-2] if text_.endswith(".0") else text_  # PostgreSQL prints float8 1.0 as "1"


def _time(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expected_fingerprint(owner=None) -> str:
    """The canonical dataset of docs/report.md, rebuilt in Python from plain SELECTs."""
    where = " WHERE a.status = 'completed' AND (CAST(:owner AS uuid) IS NULL OR a.user_id = CAST(:owner AS uuid))"
    analyses_sql = (
        "SELECT a.id::text AS id, a.created_at, a.risk_level::text AS risk, a.risk_score, a.total_detections, "
        "ST_Y(a.location) AS lat, ST_X(a.location) AS lon FROM analyses a"
    )
    detections_sql = (
        "SELECT d.id::text AS id, d.analysis_id::text AS aid, d.created_at, d.breeding_site_type::text AS t, "
        "d.risk_level::text AS risk, d.confidence, d.validation_status::text AS v, d.expires_at "
        "FROM detections d JOIN analyses a ON a.id = d.analysis_id"
    )
    with session_scope() as s:
        analyses = s.execute(text(analyses_sql + where), {"owner": owner}).mappings().all()
        # The default verdict filter: a detection an expert rejected is not in the dataset.
        kept = where + " AND d.validation_status <> 'validated_negative'"
        detections = s.execute(text(detections_sql + kept), {"owner": owner}).mappings().all()
    lines = [
        "|".join(["A", a["id"], _time(a["created_at"]), a["risk"] or "",
                  "" if a["risk_score"] is None else _float(a["risk_score"]), str(a["total_detections"]),
                  "" if a["lat"] is None else _float(a["lat"]), "" if a["lon"] is None else _float(a["lon"])])
        for a in sorted(analyses, key=lambda r: r["id"])
    ] + [
        "|".join(["D", d["id"], d["aid"], _time(d["created_at"]), d["t"] or "", d["risk"], _float(d["confidence"]),
                  d["v"], _time(d["expires_at"])])
        for d in sorted(detections, key=lambda r: r["id"])
    ]  # fmt: skip
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", TYPES)
def test_every_type_in_every_format_states_its_provenance(seeded, expert, kind, fmt):
    response = generate(expert, {"type": kind, "format": fmt, "filters": {"has_gps": True}})
    assert response.status == 200, response.body[:300]
    assert response.headers["content-type"] == MEDIA[fmt]
    assert response.headers["content-disposition"].startswith(f'attachment; filename="sentrix_report_{kind}_')
    fingerprint = response.headers["x-report-fingerprint"].removeprefix("sha256=")
    assert response.headers["x-report-rows"] == "analyses=3; detections=7"
    if fmt == "pdf":
        words = " ".join(pdf_text(response.body).split())
        assert fingerprint in words.replace(" ", "") or fingerprint in words
        assert "Con ubicación = sí" in words and "3 análisis, 7 detecciones" in words
        render_first_page(response.body)
    elif fmt == "csv":
        lines = response.body.decode().splitlines()
        provenance = [line for line in lines if line.startswith("# ")]
        assert f"# fingerprint_sha256: {fingerprint} (version 2)" in provenance
        assert "# filters: has_gps=True; include_expired=True" in provenance
        # Summary and statistics reports also count the sites their remediation figures read (none here)
        sites = " sites=0 site_actions=0" if kind in ("summary", "statistics") else ""
        assert f"# rows: analyses=3 detections=7{sites}" in provenance
        rows = list(csv.reader(line for line in lines if not line.startswith("# ")))
        assert len(rows) >= 2 and len({len(r) for r in rows}) == 1  # one rectangular table
    else:
        meta = response.json()["report"]
        assert meta["fingerprint"]["value"] == fingerprint
        assert meta["filters"] == {"has_gps": True, "include_expired": True}
        sites = {"sites": 0, "site_actions": 0} if kind in ("summary", "statistics") else {}
        assert meta["rows"] == {"analyses": 3, "detections": 7, **sites}
        assert (meta["coverage"]["verdict"], meta["coverage"]["validity"]) == ("not_rejected", "all")


def test_summary_numbers_and_their_denominators(seeded, expert):
    body = generate(expert, {"type": "summary", "format": "json"}).json()
    summary = body["data"]["summary"]
    assert (summary["analyses"], summary["detections"], summary["active_detections"]) == (4, 7, 6)
    assert (summary["high_risk_detections"], summary["medium_risk_detections"]) == (4, 3)
    assert summary["detections_per_analysis"] == {"value": 1.75, "numerator": 7, "denominator": 4,
                                                  "of": "detections", "per": "analyses"}  # fmt: skip
    # Analyses per level are shares of analyses (the original divided them by detections)
    assert [(r["level"], r["analyses"], r["percent_of_analyses"]) for r in summary["analyses_by_risk"]] == [
        ("ALTO", 2, 50.0), ("MEDIO", 1, 25.0), ("BAJO", 0, 0.0), ("MINIMO", 1, 25.0)]  # fmt: skip
    by_type = {r["type"]: (r["detections"], r["percent_of_detections"]) for r in summary["detections_by_type"]}
    assert by_type == {"Basura": (3, 42.86), "Calles mal hechas": (2, 28.57), "Huecos": (1, 14.29),
                       "Charcos/Cumulo de agua": (1, 14.29)}  # fmt: skip
    span = body["report"]["data_span"]
    assert span["from"] < span["to"]
    assert body["report"]["counted"] == "solo análisis completados"


def test_fingerprint_is_the_sha256_of_the_documented_canonical_data(seeded, expert, user):
    first = generate(expert, {"type": "summary", "format": "json"}).json()["report"]["fingerprint"]["value"]
    assert first == expected_fingerprint()
    again = generate(expert, {"type": "statistics", "format": "csv"}).headers["x-report-fingerprint"]
    assert again == f"sha256={first}"  # same data, another report, another time: same fingerprint
    own = generate(user, {"type": "summary", "format": "json"}).json()["report"]
    assert own["fingerprint"]["value"] == expected_fingerprint(user.id) != first
    with session_scope() as s:
        s.execute(text("UPDATE detections SET validation_status = 'validated_negative' WHERE class_id = 3"))
    changed = generate(expert, {"type": "summary", "format": "json"}).json()["report"]["fingerprint"]["value"]
    assert changed != first and changed == expected_fingerprint()


NO_SITES = {"sites": 0, "site_actions": 0}


def test_filters_scope_and_span(seeded, user, other_user, expert):
    body = {"type": "summary", "format": "json", "date_from": (seeded - timedelta(days=2, hours=12)).isoformat(),
            "filters": {"risk_level": "alto"}}  # fmt: skip
    report = generate(expert, body).json()["report"]
    assert report["rows"] == {"analyses": 1, "detections": 2, **NO_SITES}  # other_user's ALTO analysis only
    assert report["filters"]["risk_level"] == "ALTO"
    assert report["data_span"]["from"] == report["data_span"]["to"]
    mine = generate(user, {"type": "summary", "format": "json"}).json()["report"]
    assert mine["rows"] == {"analyses": 3, "detections": 5, **NO_SITES} and mine["scope"] == f"user {user.id}"
    asked = {"type": "summary", "format": "json", "filters": {"user_id": str(other_user.id)}}
    assert generate(user, asked).status == 403
    assert generate(expert, asked).json()["report"]["rows"] == {"analyses": 1, "detections": 2, **NO_SITES}
    assert generate(None, asked).status == 401


def test_detailed_lists_analyses_newest_first(seeded, user):
    body = generate(user, {"type": "detailed", "format": "json"}).json()["data"]
    assert [r["risk_level"] for r in body["analyses"]] == ["MINIMO", "MEDIO", "ALTO"]
    assert (body["analyses_shown"], body["analyses_total"]) == (3, 3)
    assert [r["active_detections"] for r in body["analyses"]] == [0, 2, 2]


def test_map_report_draws_a_real_map(seeded, expert):
    data = generate(expert, {"type": "map", "format": "json"}).json()["data"]["map"]
    assert data["cell_deg"] == 0.002  # the longer side (0.08°) over 40 cells, rounded up to a nice step
    assert sum(c["detections"] for c in data["cells"]) == 7 and sum(c["analyses"] for c in data["cells"]) == 3
    assert (data["located_analyses"], data["points_drawn"]) == (3, 3)
    image = Image.open(io.BytesIO(base64.b64decode(data["image_png_base64"])))
    assert image.format == "PNG" and image.size == (1200, 900)
    colours = {image.getpixel((x, y)) for x in range(0, 1200, 7) for y in range(0, 900, 7)}
    assert len(colours) > 10  # cells, points, labels: not a blank canvas
    pdf = generate(expert, {"type": "map", "format": "pdf"}).body
    assert any(i["width"] == "1200" and i["height"] == "900" for i in embedded_images(pdf))
    lines = generate(expert, {"type": "map", "format": "csv"}).body.decode().splitlines()
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert sum(int(r["detections"]) for r in rows) == 7


@pytest.mark.parametrize(("most", "drawn"), [(3, 3), (2, 0)])
def test_the_map_draws_points_only_up_to_its_limit_and_says_so_in_the_callers_language(
    seeded, expert, monkeypatch, most, drawn
):
    """Three located analyses: drawn when the limit is 3 (at most), none when it is 2; the cells always."""
    from sentrix_report.logic import aggregate_report

    monkeypatch.setattr(aggregate_report, "MAP_MAX_POINTS", most)
    data = generate(expert, {"type": "map", "format": "json", "language": "pt"}).json()["data"]["map"]
    assert (data["located_analyses"], data["points_drawn"]) == (3, drawn)
    assert sum(c["detections"] for c in data["cells"]) == 7
    note = f"Os pontos das análises são desenhados quando são {most} ou menos; as células, sempre"
    assert data["points_note"] == note


def test_large_reports_go_to_s3_with_a_presigned_url(seeded, expert, monkeypatch):
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_INLINE_MAX_BYTES", "1000")
    get_report_settings.cache_clear()
    response = generate(expert, {"type": "detailed", "format": "pdf"})
    body = response.json()
    assert response.headers["content-type"] == "application/json"
    assert body["delivery"] == "s3" and body["content_type"] == "application/pdf"
    assert f"reports%2F{expert.id}%2F" in body["download_url"] or f"/reports/{expert.id}/" in body["download_url"]
    download = httpx.get(body["download_url"])
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    assert len(download.content) == body["size_bytes"]
    assert body["report"]["fingerprint"]["value"] == response.headers["x-report-fingerprint"][7:]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "weekly", "format": "pdf"},
        {"type": "summary", "format": "xml"},
        {"type": "summary", "filters": {"colour": "red"}},
        {"type": "summary", "date_from": "2026-05-02", "date_to": "2026-05-01"},
        {"type": "summary", "date_from": "2026-05-01", "filters": {"date_from": "2026-04-01"}},
        {"type": "summary", "filters": {"bbox": "1,2,3"}},
    ],
)
def test_bad_requests_are_422(db, expert, body):
    response = generate(expert, body)
    assert response.status == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_detailed_report_lists_at_most_the_configured_rows(seeded, user, monkeypatch):
    """REPORT_DETAILED_REPORT_MAX_ROWS caps the listed analyses (newest first); the total still counts all."""
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_DETAILED_REPORT_MAX_ROWS", "2")
    get_report_settings.cache_clear()
    try:
        body = generate(user, {"type": "detailed", "format": "json"}).json()["data"]
    finally:
        monkeypatch.delenv("REPORT_DETAILED_REPORT_MAX_ROWS")
        get_report_settings.cache_clear()
    assert [r["risk_level"] for r in body["analyses"]] == ["MINIMO", "MEDIO"]
    assert (body["analyses_shown"], body["analyses_total"]) == (2, 3)
