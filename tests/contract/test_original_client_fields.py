"""The fields the original web client reads from the analysis list and detail, through the local gateway.

Written down here from the original backend's response shapes (/work/shared/reference/original-backend.md,
`GET /api/v1/analyses` and `GET /api/v1/analyses/{id}`, and the `analyses` columns' types), not from our schemas:
each missing one shows as a blank in that client. They are compatibility fields beside our nested forms
(docs/upload.md, *Compatibility fields*). Answers come from real requests: the in-process API Gateway emulator with
the real authorizer, the upload function, PostGIS and moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.gateway import builtin_gateway
from tests.support.identity import bearer, create_user

pytestmark = pytest.mark.e2e

FUNCTIONS = ("UploadFunction", "AuthorizerFunction")
NULL = type(None)
RISK_LEVELS = {"ALTO", "MEDIO", "BAJO", "MINIMO"}

# The original's list items are full analysis responses; these two are the ones ours lacked.
LIST_ITEM_FIELDS: dict[str, tuple[type, ...]] = {
    "risk_assessment": (dict,),  # an object once the analysis has a risk level
    "model_used": (str, NULL),  # text column
}
# Of risk_assessment, the client reads the level (the Spanish enum) and the score (numeric(4,3), nullable).
RISK_ASSESSMENT_FIELDS: dict[str, tuple[type, ...]] = {"level": (str,), "risk_score": (float, int, NULL)}
# At the detail's top level.
DETAIL_FIELDS: dict[str, tuple[type, ...]] = {
    "image_filename": (str, NULL),  # text: the standardized SENTRIX_ name
    "image_size_bytes": (int, NULL),  # integer
    "yolo_service_version": (str, NULL),  # text
}

STANDARDIZED = "SENTRIX_20260315_143000_XIAOMI_M2101K6G_-26.8241_-65.2226_ab12cd34.jpg"
SIZE_BYTES = 2_345_678
MODEL = "dengue_production_v2"
MODEL_VERSION = "2.0.0"


@pytest.fixture(scope="module")
def gateway(database_url, aws) -> Iterator[str]:
    with builtin_gateway(FUNCTIONS) as url:
        yield url


@pytest.fixture
def api(gateway, clean_db) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, timeout=30) as client:
        yield client


@pytest.fixture
def owner_and_analyses(api) -> tuple[Any, str, str]:
    """A user with one completed analysis (every field known) and one still waiting for its upload."""
    from sentrix.db.engine import session_scope
    from sentrix.domain.status import AnalysisStatus
    from tests.support.seed import make_analysis

    owner = create_user()
    with session_scope() as session:
        completed = make_analysis(
            session,
            user=owner.id,
            latitude=-26.8241,
            longitude=-65.2226,
            detections=[0, 2],
            risk_level="ALTO",
            risk_score=0.95,
            standardized_filename=STANDARDIZED,
            size_bytes=SIZE_BYTES,
            model_name=MODEL,
            model_version=MODEL_VERSION,
        )
        waiting = make_analysis(
            session, user=owner.id, status=AnalysisStatus.PENDING_UPLOAD, model_name=None, size_bytes=None
        )
        return owner, str(completed.id), str(waiting.id)


def assert_types(document: dict[str, Any], fields: dict[str, tuple[type, ...]], where: str) -> None:
    for name, types in fields.items():
        assert name in document, f"{where}: no {name}"
        value = document[name]
        # bool is an int to Python, never to a JavaScript client reading a number.
        assert isinstance(value, types) and not isinstance(value, bool), f"{where}.{name}: {value!r}"


def test_list_items_carry_the_risk_assessment_and_model_the_client_reads(api, owner_and_analyses) -> None:
    # Given a user with a completed analysis / When they list their analyses through the gateway
    owner, completed_id, _ = owner_and_analyses
    answer = api.get("/analyses", headers=bearer(owner))

    # Then the completed item has the fields, with the client's types and the stored values
    assert answer.status_code == 200
    item = next(a for a in answer.json()["analyses"] if a["id"] == completed_id)
    assert_types(item, LIST_ITEM_FIELDS, "list item")
    assert_types(item["risk_assessment"], RISK_ASSESSMENT_FIELDS, "list item.risk_assessment")
    assert item["risk_assessment"]["level"] in RISK_LEVELS
    assert (item["risk_assessment"]["level"], item["risk_assessment"]["risk_score"]) == ("ALTO", 0.95)
    assert item["model_used"] == MODEL


def test_a_list_item_not_analysed_yet_has_them_as_null(api, owner_and_analyses) -> None:
    # Given an analysis still waiting for its upload / When it is listed
    owner, _, waiting_id = owner_and_analyses
    items = api.get("/analyses", headers=bearer(owner)).json()["analyses"]

    # Then the fields are there, null (as the detail's risk_assessment is before completion)
    item = next(a for a in items if a["id"] == waiting_id)
    assert (item["risk_assessment"], item["model_used"]) == (None, None)


def test_the_detail_carries_the_top_level_fields_the_client_reads(api, owner_and_analyses) -> None:
    # Given a completed analysis / When its owner reads it through the gateway
    owner, completed_id, _ = owner_and_analyses
    answer = api.get(f"/analyses/{completed_id}", headers=bearer(owner))

    # Then the top level has the fields with the client's types, equal to what was stored
    assert answer.status_code == 200
    detail = answer.json()
    assert_types(detail, DETAIL_FIELDS | LIST_ITEM_FIELDS, "detail")
    assert (detail["image_filename"], detail["image_size_bytes"], detail["yolo_service_version"]) == (
        STANDARDIZED,
        SIZE_BYTES,
        MODEL_VERSION,
    )
    # ... beside the nested forms they repeat, which stay
    assert (detail["image"]["standardized_filename"], detail["image"]["size_bytes"]) == (STANDARDIZED, SIZE_BYTES)
    assert (detail["risk_assessment"]["level"], detail["risk_assessment"]["risk_score"]) == ("ALTO", 0.95)


def test_list_items_carry_the_detail_fields_too(api, owner_and_analyses) -> None:
    # Given a completed analysis / When it is listed
    owner, completed_id, _ = owner_and_analyses
    items = api.get("/analyses", headers=bearer(owner)).json()["analyses"]

    # Then its item has the same top-level compatibility fields as the detail (the original's items were full)
    item = next(a for a in items if a["id"] == completed_id)
    assert_types(item, DETAIL_FIELDS, "list item")
    assert (item["image_filename"], item["image_size_bytes"], item["yolo_service_version"]) == (
        STANDARDIZED,
        SIZE_BYTES,
        MODEL_VERSION,
    )
