"""What the handlers import at start-up (issue 21, cold start): heavy modules most requests never use stay out.

Each check imports the handler in a fresh interpreter, with only the layer and the function's own package on the
path (as Lambda lays them out), and lists which of the deferred modules got loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HANDLERS = {
    "auth": "sentrix_auth.api",
    "authorizer": "sentrix_auth.authorizer",
    "upload": "sentrix_upload.api",
    "report": "sentrix_report.api",
    "detect": "sentrix_detect.handler",
}
PACKAGE_DIR = {"authorizer": "auth"}
VISIT_LINKS = ("visit_containers", "visit_sites", "visit_analyses")


def loaded_after_import(function: str, watched: list[str], **env: str) -> list[str]:
    """The modules of `watched` present in sys.modules once `function`'s handler module is imported."""
    folder = PACKAGE_DIR.get(function, function)
    listing = f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    code = f"import sys, json; import {HANDLERS[function]}; {listing}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_TRACE")},
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "shared"), str(REPO / "functions" / folder)]),
        **env,
    }
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("function", ["auth", "upload", "report", "detect"])
def test_no_handler_imports_pydantic_v1(function):
    # FastAPI's "is this a pydantic v1 model?" check would import pydantic.v1 on the first route (sentrix.http.compat)
    assert loaded_after_import(function, ["pydantic.v1"]) == []


def test_the_authorizer_imports_neither_fastapi_nor_the_database_stack():
    heavy = ["fastapi", "pydantic", "sqlalchemy", "geoalchemy2", "boto3", "aws_lambda_powertools", "aws_xray_sdk"]
    heavy.append("pathlib")  # only the local key file needs it (sentrix.tokens reads it with open())
    assert loaded_after_import("authorizer", heavy) == []


def test_detect_imports_the_xray_sdk_only_when_tracing_is_on():
    assert loaded_after_import("detect", ["aws_xray_sdk"], POWERTOOLS_TRACE_DISABLED="true") == []
    assert loaded_after_import("detect", ["aws_xray_sdk"], POWERTOOLS_TRACE_DISABLED="false") == ["aws_xray_sdk"]


def test_a_pydantic_v1_model_is_still_recognised_once_pydantic_v1_is_loaded():
    import warnings

    import fastapi._compat.shared as shared
    import fastapi.encoders
    from pydantic import BaseModel

    import sentrix.http.app  # noqa: F401 - installs the checks
    from sentrix.http import compat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydantic import v1

    class OldStyle(v1.BaseModel):
        n: int

    class NewStyle(BaseModel):
        n: int

    assert shared.is_pydantic_v1_model_class is compat.is_pydantic_v1_model_class
    assert fastapi.encoders.is_pydantic_v1_model_instance is compat.is_pydantic_v1_model_instance
    assert shared.annotation_is_pydantic_v1(OldStyle) is True
    assert shared.annotation_is_pydantic_v1(list[OldStyle]) is True
    assert shared.annotation_is_pydantic_v1(NewStyle) is False
    assert compat.is_pydantic_v1_model_instance(OldStyle(n=1)) is True
    assert compat.is_pydantic_v1_model_instance(NewStyle(n=1)) is False


@pytest.mark.parametrize("function", ["auth", "upload", "report", "detect"])
def test_geoalchemy2_is_not_imported_at_start_up(function):
    # The models' geometry columns (sentrix.db.geometry) load GeoAlchemy2 when a statement first uses one; upload's
    # DAL builds expressions on them at import (`func.ST_Y(Detection.location)`) and casts to a bare geography.
    assert loaded_after_import(function, ["geoalchemy2"], POWERTOOLS_TRACE_DISABLED="true") == []


def test_a_geometry_column_compiles_as_geoalchemy2s_once_touched():
    # Given auth's process, where GeoAlchemy2 is not loaded at start-up
    code = """
import sys
import sentrix_auth.api
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable
from sentrix.db.models import Analysis
before = "geoalchemy2" in sys.modules
query = select(Analysis.id, Analysis.location).where(Analysis.location.is_not(None))
print(before)
print(query.compile(dialect=postgresql.dialect()))
print([line.strip() for line in str(CreateTable(Analysis.__table__).compile(dialect=postgresql.dialect())).splitlines()
       if line.strip().startswith("location ")][0])
print(type(Analysis.location.type.real()).__module__, "geoalchemy2" in sys.modules)
"""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "shared"), str(REPO / "functions" / "auth")]),
    }
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    before, *sql, column, real = out.stdout.strip().splitlines()

    # Then the column reads through ST_AsEWKB, is declared geometry(POINT,4326), and GeoAlchemy2 came with it
    assert before == "False"
    assert "ST_AsEWKB(analyses.location) AS location" in " ".join(sql)
    assert "analyses.location IS NOT NULL" in " ".join(sql)
    assert column == "location geometry(POINT,4326),"
    assert real == "geoalchemy2.types True"


def test_spatial_operators_on_a_deferred_geometry_column_are_geoalchemy2s():
    # Given upload's process (GeoAlchemy2 not loaded at start-up) and, for the expected SQL, a table whose column
    # is GeoAlchemy2's own Geometry of the same arguments
    code = """
import sys
import sentrix_upload.api
from sqlalchemy import Column, MetaData, Table, func, select
from sqlalchemy.dialects import postgresql
from sentrix.db.models import Analysis
before = "geoalchemy2" in sys.modules
ours = Analysis.__table__.c.location
import geoalchemy2
theirs = Table("analyses", MetaData(), Column("location", geoalchemy2.Geometry("POINT", 4326))).c.location
box = func.ST_MakeEnvelope(1, 2, 3, 4, 4326)
def sql(column):
    clauses = [column << box, column >> box, column.contains(box), column.intersects(box), column == None,
               column.ST_Distance(box) < 5, column.distance_centroid(box), box.op("&&")(column)]
    return [str(c.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})) for c in clauses]
print(before)
print(sql(ours) == sql(theirs))
print(sql(ours)[0], "|", sql(ours)[2])
"""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "shared"), str(REPO / "functions" / "upload")]),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    before, same, sample = out.stdout.strip().splitlines()

    # Then each operator compiles to GeoAlchemy2's SQL (`<<` strictly left, `~` contains), not SQLAlchemy's default
    assert before == "False"
    assert same == "True"
    assert sample == (
        "analyses.location << ST_MakeEnvelope(1, 2, 3, 4, 4326) | analyses.location ~ ST_MakeEnvelope(1, 2, 3, 4, 4326)"
    )


def test_upload_presigns_image_urls_without_importing_boto3():
    # Given upload's process with role credentials in the environment, as Lambda gives them
    code = """
import sys
import sentrix_upload.api
from sentrix_upload.logic.image_urls import image_url
url = image_url("sentrix-images-123", "processed/u/a.jpg")
print("boto3" in sys.modules, url.split("?")[0])
"""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "shared"), str(REPO / "functions" / "upload")]),
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_REGION": "us-east-1",
        "IMAGES_BUCKET": "sentrix-images-123",
    }
    environment.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)

    # Then the URL is S3's and boto3 never came in
    assert out.stdout.strip().splitlines()[-1] == "False https://sentrix-images-123.s3.amazonaws.com/processed/u/a.jpg"


def test_detect_starts_without_the_orm_or_the_shape_libraries():
    # Detect's store is Core on sentrix.db.tables (no ORM session); shapely and numpy come with the first answer
    # that has detections (sentrix_detect.logic.results), as PIL comes with the first image.
    watched = ["sqlalchemy.orm", "sentrix.db.models", "shapely", "numpy", "PIL"]
    assert loaded_after_import("detect", watched, POWERTOOLS_TRACE_DISABLED="true") == []


@pytest.mark.parametrize("function", ["auth", "upload", "report"])
def test_the_http_functions_map_no_class_for_the_tables_only_sql_writes(function):
    # sentrix.db.models maps only the tables the code handles as objects; 20 classes nobody instantiated cost ~90 ms
    # of every import (issue 21). The ORM itself is what the HTTP functions' sessions need.
    code = f"""
import sqlalchemy.orm, sys
import {HANDLERS[function]}
from sentrix.db.models import Base
print(sorted(mapper.local_table.name for mapper in Base.registry.mappers))
"""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "shared"), str(REPO / "functions" / function)]),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    mapped = json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"'))
    objects = "users refresh_tokens user_settings analyses detections sites site_actions territories"
    assert mapped == sorted([*objects.split(), "official_territories", "visits", *VISIT_LINKS])


def test_the_first_detections_load_shapely_and_clean_their_outlines():
    # Given detect's process, started without shapely
    code = """
import sys
from datetime import datetime, timezone
import sentrix_detect.handler
from sentrix.adapters.yolo import YoloDetection
from sentrix_detect.logic.results import build_detections
before = "shapely" in sys.modules
square = YoloDetection(class_id=0, class_name="x", confidence=0.9, polygon=[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]])
(record,) = build_detections([square], sent_size=(100, 100), original_size=(200, 200),
                             detected_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
print(before, "shapely" in sys.modules, record.mask_area)
"""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "shared"), str(REPO / "functions" / "detect")]),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)

    # Then shapely came with the detection, whose 10 px square sent at half size is 20 x 20 original pixels
    assert out.stdout.strip().splitlines()[-1] == "False True 400.0"
