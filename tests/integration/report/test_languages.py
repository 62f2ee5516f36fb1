"""One language per answer: every report type and format, in es, en and pt, through the real handler.

The rule of the "no other language" check (`forbidden`): for an answer in language L, a string is forbidden
when it comes from another language's catalogue entry whose text differs from L's text for the same key.
  - phrases: the literal parts of such an entry (split at `{field}`s), at least 8 characters, that do not
    occur anywhere in L's catalogue (so "Filtros", identical in es and pt, is only forbidden in English);
  - words: the words (letters only) of such an entry, at least 6 letters, that are no word of L's catalogue
    (so "Data", a Portuguese heading and a word of the English catalogue, is never forbidden in English).
Entries identical across languages and short tokens ("Mar", "de", "%") are ignored: they prove nothing.
Where the check looks: the whole text of PDFs (pdftotext); in CSV the '#' prose lines and the `*label`
columns; in JSON the `label`/`*_label`/`title`/`day`/`name` fields and recommendations. Column names, keys
and stored enum values ("Basura", "validated_negative") are data, the same in every language.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import boto3
import pytest
from PIL import Image
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.i18n import CATALOGUE, LANGUAGES
from tests.integration.report.conftest import call
from tests.integration.report.pdf_tools import embedded_images, pdf_text
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

# Set SENTRIX_REPORT_PDF_DIR to keep every PDF this test renders (to look at them as PNGs).
PNG_DIR = os.environ.get("SENTRIX_REPORT_PDF_DIR")
# Stored enum values that are no word of any language ("Otro", "none", "completed" are words somewhere).
RAW_VALUES = ("validated_positive", "validated_negative", "requires_review", "Clase_7", "MANUAL", "EXIF_GPS",
              "ALTO", "MEDIO", "BAJO", "MINIMO")  # fmt: skip
MIN_PHRASE = 8
MIN_WORD = 6
TYPES = ("summary", "detailed", "statistics", "map")
FORMATS = ("pdf", "csv", "json")
HUMAN_JSON_KEYS = {"label", "title", "day", "recommendations"}
MACHINE_CSV_KEYS = ("generated_at:", "generated_by:", "language:", "filters:", "data_span:", "rows:",
                    "fingerprint_sha256:")  # fmt: skip


def _words(value: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+", value))


def forbidden(language: str) -> tuple[set[str], set[str]]:
    """(phrases, words) that must not appear in an answer in `language` (rule in the module docstring)."""
    own = CATALOGUE[language]
    own_text = "\n".join(own.values())
    own_words = _words(own_text)
    phrases: set[str] = set()
    words: set[str] = set()
    for other in LANGUAGES:
        if other == language:
            continue
        for key, value in CATALOGUE[other].items():
            if value == own[key]:
                continue
            for fragment in re.split(r"\{[^}]*\}", value):
                fragment = fragment.strip(" :;,.()/-–")
                if len(fragment) >= MIN_PHRASE and fragment not in own_text:
                    phrases.add(fragment)
            words |= {w for w in _words(value) if len(w) >= MIN_WORD and w not in own_words}
    return phrases, words


FORBIDDEN = {language: forbidden(language) for language in LANGUAGES}


def assert_one_language(human_text: str, language: str, where: str) -> None:
    phrases, words = FORBIDDEN[language]
    flat = " ".join(human_text.split())
    found = sorted(p for p in phrases if p in flat) + sorted(words & _words(flat))
    assert not found, f"{where} ({language}) shows words of another language: {found[:12]}"


def csv_human_text(body: str) -> str:
    lines = body.splitlines()
    # '#' lines are "key: value": the key is a fixed machine name (checked nowhere), the value is checked unless
    # the whole line is machine data (filters as parameters, times, counts, the fingerprint).
    prose = [
        re.sub(r"^[a-z_]+: ", "", line[2:])
        for line in lines
        if line.startswith("# ") and not line[2:].startswith(MACHINE_CSV_KEYS)
    ]
    table = list(csv.reader(io.StringIO("\n".join(line for line in lines if not line.startswith("# ")))))
    header, rows = table[0], table[1:]
    labels = [i for i, name in enumerate(header) if name.endswith("label")]
    return "\n".join(prose + [row[i] for row in rows for i in labels if i < len(row)])


def json_human_text(value, key: str | None = None, keys: frozenset[str] | set[str] = HUMAN_JSON_KEYS) -> list[str]:
    """The strings of fields meant for a person (label, *_label, title, day, recommendations)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in json_human_text(v, k, keys)]
    if isinstance(value, list):
        return [s for v in value for s in json_human_text(v, key, keys)]
    if isinstance(value, str) and key and (key in keys or key.endswith("_label")):
        return [value]
    return []


def annotated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 90)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@pytest.fixture
def seeded(user, expert, aws):
    """Every class (the unknown one too), every verdict, located and unlocated, one annotated image."""
    now = datetime.now(UTC)
    live = now + timedelta(days=20)
    with session_scope() as s:
        first = make_analysis(
            s, user=user.id, latitude=-26.80, longitude=-65.20, created_at=now - timedelta(days=40),
            width=640, height=480,
            detections=[
                D(0, validation_status="validated_positive", expires_at=live,
                  extra={"polygon": [[40, 40], [200, 40], [200, 160], [40, 160]]}),
                D(2, validation_status="validated_negative", expires_at=live,
                  extra={"polygon": [[300, 200], [420, 210], [400, 330], [310, 320]]}),
                D(3, validation_status="requires_review", extra={"polygon": [[480, 60], [600, 80], [560, 200]]}),
                D(7, validation_status="pending", extra={"polygon": [[100, 300], [220, 300], [160, 420]]}),
            ],
        )  # fmt: skip
        key = f"processed/{user.id}/{first.id}.jpg"
        first.processed_image_key = key
        make_analysis(s, user=user.id, latitude=-26.83, longitude=-65.24, created_at=now - timedelta(days=2),
                      detections=[1, D(1, validation_status="validated_positive", expires_at=live)])  # fmt: skip
        make_analysis(s, user=expert.id, created_at=now - timedelta(days=1), detections=[D(7), 2])
        make_analysis(s, user=expert.id, latitude=-26.78, longitude=-65.18, created_at=now - timedelta(hours=3))
    boto3.client("s3", endpoint_url=aws.endpoint_url).put_object(
        Bucket=aws.bucket, Key=key, Body=annotated_jpeg(), ContentType="image/jpeg"
    )
    return first


def analysis_outputs(analysis, caller, language):
    """(name, kind, body) of every per-analysis document in `language`."""
    query = {"language": language}
    base = f"/api/v1/analyses/{analysis.id}"
    yield "report.pdf", "pdf", call("GET", f"{base}/report", caller=caller, query=query)
    for fmt in FORMATS:
        yield f"export.{fmt}", fmt, call("GET", f"{base}/export", caller=caller, query=query | {"format": fmt})


def aggregate_outputs(caller, language):
    for kind in TYPES:
        for fmt in FORMATS:
            body = {"type": kind, "format": fmt, "language": language}
            yield f"{kind}.{fmt}", fmt, call("POST", "/api/v1/reports/generate", caller=caller, body=body)


def human_text(kind: str, response) -> str:
    if kind == "pdf":  # layout keeps lines, raw keeps a wrapped table cell's words together
        return pdf_text(response.body) + "\n" + pdftotext_raw(response.body)
    if kind == "csv":
        return csv_human_text(response.body.decode())
    return "\n".join(json_human_text(response.json()))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_report_type_and_format_speaks_one_language(seeded, user, expert, language):
    titles = {"pdf": "report.analysis_title"}
    outputs = [*analysis_outputs(seeded, user, language), *aggregate_outputs(expert, language)]
    assert len(outputs) == 4 + len(TYPES) * len(FORMATS)
    for name, kind, response in outputs:
        assert response.status == 200, (name, response.body[:300])
        words = human_text(kind, response)
        assert words.strip(), f"{name} has no human text to check"
        assert_one_language(words, language, name)
        if kind == "pdf":  # enum values are data: a person reads words
            assert not [raw for raw in RAW_VALUES if re.search(rf"\b{raw}\b", words)], name
        if name == "report.pdf":
            assert CATALOGUE[language][titles["pdf"]] in words
        if name.endswith(".pdf") or name == "export.pdf":
            os.makedirs(PNG_DIR, exist_ok=True) if PNG_DIR else None
            if PNG_DIR:
                (Path(PNG_DIR) / f"{name}.{language}.pdf").write_bytes(response.body)
    paths = ("/api/v1/map-stats", "/api/v1/reports/risk-distribution", "/api/v1/reports/monthly-analyses",
             "/api/v1/reports/recent-activity")  # fmt: skip
    for path in paths:
        response = call("GET", path, caller=expert, query={"language": language})
        assert response.status == 200, path
        # risk-distribution's `name` is its label (the original client shows it); map-stats' type `name` is data.
        keys = HUMAN_JSON_KEYS | ({"name"} if path.endswith("risk-distribution") else set())
        assert_one_language("\n".join(json_human_text(response.json(), keys=keys)), language, path)


@pytest.mark.parametrize("language", LANGUAGES)
def test_verdicts_classes_and_levels_are_words_never_raw_values(seeded, user, language):
    pdf = call("GET", f"/api/v1/analyses/{seeded.id}/report", caller=user, query={"language": language}).body
    words = " ".join(pdftotext_raw(pdf).split())
    for raw in ("validated_positive", "validated_negative", "requires_review", "pending", "Clase_7", "MANUAL"):
        assert raw not in words
    catalogue = CATALOGUE[language]
    for key in ("verdict.validated_positive", "verdict.validated_negative", "verdict.requires_review",
                "verdict.pending", "class.unknown", "class.Basura"):  # fmt: skip
        assert catalogue[key] in words, key


def test_the_unknown_class_has_one_name_everywhere(seeded, expert):
    summary = call("POST", "/api/v1/reports/generate", caller=expert,
                   body={"type": "statistics", "format": "json", "language": "en"}).json()["data"]  # fmt: skip
    labels = {r["label"] for r in summary["summary"]["detections_by_type"] if r["type"] == "Otro"}
    labels |= {r["label"] for r in summary["statistics"]["mean_confidence_by_type"] if r["type"] == "Otro"}
    stats = call("GET", "/api/v1/map-stats", caller=expert, query={"language": "en"}).json()
    labels |= {t["label"] for t in stats["detection_types"] if t["name"] == "Otro"}
    assert labels == {"Other type"}


def pdftotext_raw(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_word_is_broken_and_no_page_holds_only_a_footer(seeded, user, expert, language):
    catalogue_words = {w.strip(".,:;()") for v in CATALOGUE[language].values() for w in v.split() if len(w) >= 5}
    pdfs = {"analysis": call("GET", f"/api/v1/analyses/{seeded.id}/report", caller=user,
                             query={"language": language}).body}  # fmt: skip
    for kind in TYPES:
        body = {"type": kind, "format": "pdf", "language": language}
        pdfs[kind] = call("POST", "/api/v1/reports/generate", caller=expert, body=body).body
    for name, pdf in pdfs.items():
        tokens = [t.strip(".,:;()") for t in pdftotext_raw(pdf).split()]
        broken = {a + b for a, b in pairwise(tokens) if a and b and a + b in catalogue_words}
        assert not broken, f"{name} ({language}) splits words: {broken}"
        pages = [p for p in pdf_text(pdf).split("\f") if p.strip()]
        for number, page in enumerate(pages, start=1):
            content = [line for line in page.splitlines() if line.strip() and not line.strip().startswith("Sentrix ·")]
            content = [line for line in content if line.strip() != str(number)]
            assert content, f"{name} ({language}) page {number} holds only the footer"


CORNERS = {0: (40, 40), 2: (300, 200), 3: (480, 60), 7: (100, 300)}  # top-left of each seeded polygon


def page_words(pdf: bytes) -> list[tuple[str, float, float]]:
    """(word, x centre, y centre) of page 1, in points from the top-left corner (pdftotext -bbox)."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)
    return [(w, (float(a) + float(c)) / 2, (float(b) + float(d)) / 2) for a, b, c, d, w in found]


def test_the_per_analysis_pdf_numbers_its_outlines_like_its_rows(seeded, user):
    """Number n is drawn at the outline of the detection in table row n: the numbers' positions on the page
    are the polygons' corners under one scale and offset (the image's placement)."""
    pdf = call("GET", f"/api/v1/analyses/{seeded.id}/report", caller=user, query={"language": "en"}).body
    assert "Each number on the image is the row number in the detections table." in " ".join(pdf_text(pdf).split())
    rows = call("GET", f"/api/v1/analyses/{seeded.id}/export", caller=user).json()["detections"]
    corners = {d["number"]: CORNERS[d["class_id"]] for d in rows}
    words = page_words(pdf)
    candidates = {n: [(x, y) for w, x, y in words if w == str(n)] for n in corners}
    (x1, y1), x2 = corners[1], corners[2][0]

    def fits(p1, p2) -> bool:
        scale = (p2[0] - p1[0]) / (x2 - x1)
        if scale <= 0:
            return False
        origin = (p1[0] - scale * x1, p1[1] - scale * y1)
        return all(
            any(abs(px - (origin[0] + scale * cx)) < 4 and abs(py - (origin[1] + scale * cy)) < 4
                for px, py in candidates[n])
            for n, (cx, cy) in corners.items()
        )  # fmt: skip

    assert any(fits(p1, p2) for p1 in candidates[1] for p2 in candidates[2])
    # The stored JPEG is embedded as it is (the overlay is vectors), so nothing of the photo is lost.
    [image] = embedded_images(pdf)
    assert (image["width"], image["height"], image["enc"]) == ("640", "480", "jpeg")


def test_times_shown_to_people_are_in_the_users_zone_with_the_zone_named(user, aws):
    with session_scope() as s:
        s.execute(
            text("INSERT INTO user_settings (user_id, settings) VALUES (:id, CAST(:s AS jsonb))"),
            {"id": user.id, "s": json.dumps({"language": "en", "timezone": "Asia/Tokyo"})},
        )
        found = make_analysis(s, user=user.id, detections=[0], created_at=datetime(2026, 6, 1, 10, 10, tzinfo=UTC))
    pdf = call("GET", f"/api/v1/analyses/{found.id}/report", caller=user)
    words = " ".join(pdf_text(pdf.body).split())
    assert "Uploaded 2026-06-01 19:10 (UTC+09:00)" in words
    assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+09:00\) Asia/Tokyo", words)
    exported = call("GET", f"/api/v1/analyses/{found.id}/export", caller=user).json()
    assert exported["analysis"]["created_at"] == "2026-06-01T10:10:00+00:00"  # API timestamps: ISO 8601, offset


def test_language_resolution_setting_parameter_header_and_anonymous_default(seeded, user):
    def report_language(**kw) -> str:
        words = pdf_text(call("GET", f"/api/v1/analyses/{seeded.id}/report", caller=user, **kw).body)
        found = [lang for lang in LANGUAGES if CATALOGUE[lang]["report.analysis_title"] in words]
        assert len(found) == 1
        return found[0]

    assert report_language() == "es"  # no setting, no parameter, no header
    with session_scope() as s:
        s.execute(
            text("INSERT INTO user_settings (user_id, settings) VALUES (:id, CAST(:s AS jsonb))"),
            {"id": user.id, "s": json.dumps({"language": "pt"})},
        )
    assert report_language() == "pt"  # the setting
    assert report_language(query={"language": "en"}) == "en"  # the parameter overrides it
    assert report_language(query={"lang": "en"}) == "en"  # its older spelling too
    assert report_language(headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8, es;q=0.5"}) == "en"
    assert report_language(headers={"Accept-Language": "de, fr"}) == "pt"  # nothing supported: the setting
    assert report_language(query={"language": "es"}, headers={"Accept-Language": "en"}) == "es"

    def trend_days(**kw) -> list[str]:
        return [d["day"] for d in call("GET", "/api/v1/map-stats", **kw).json()["weekly_trend"]]

    spanish = {CATALOGUE["es"][f"day.{i}"] for i in range(1, 8)}
    english = {CATALOGUE["en"][f"day.{i}"] for i in range(1, 8)}
    portuguese = {CATALOGUE["pt"][f"day.{i}"] for i in range(1, 8)}
    assert set(trend_days()) == spanish  # anonymous: Spanish
    assert set(trend_days(query={"language": "en"})) == english
    assert set(trend_days(headers={"Accept-Language": "pt-BR,pt;q=0.9"})) == portuguese
    assert set(trend_days(caller=user)) == portuguese  # a signed-in caller's setting

    refused = call("GET", "/api/v1/map-stats", query={"language": "fr"})
    assert refused.status == 422 and refused.json()["error"]["code"] == "validation_error"


def test_error_envelopes_speak_the_requested_language_and_keep_their_code(user):
    missing = "/api/v1/analyses/00000000-0000-4000-8000-000000000000/report"
    english = call("GET", missing, caller=user, headers={"Accept-Language": "en"}).json()["error"]
    portuguese = call("GET", missing, caller=user, query={"language": "pt"}).json()["error"]
    assert english["code"] == portuguese["code"] == "not_found"
    assert (english["title"], portuguese["title"]) == ("Not found", "Não encontrado")
    invalid = call("GET", "/api/v1/reports/monthly-analyses", caller=user,
                   query={"months": "0"}, headers={"Accept-Language": "pt"}).json()["error"]  # fmt: skip
    assert (invalid["code"], invalid["message"]) == ("validation_error", "Erro de validação")
