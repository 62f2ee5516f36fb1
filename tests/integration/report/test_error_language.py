"""Error messages speak the caller's language when it states one; `code` never changes."""

from __future__ import annotations

import pytest

from tests.integration.report.conftest import call

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("query", "headers", "message"),
    [
        ({"bbox": "1,2,3", "language": "es"}, None, "Filtros no válidos"),
        ({"bbox": "1,2,3"}, {"Accept-Language": "pt-BR,pt;q=0.9"}, "Filtros inválidos"),
        ({"bbox": "1,2,3", "language": "en"}, {"Accept-Language": "pt"}, "Invalid filters"),
        ({"verdict_typo": "x", "language": "es"}, None, "Parámetro(s) de consulta desconocido(s): verdict_typo"),
        ({"since": "2026-01-01", "date_from": "2026-02-01"}, {"Accept-Language": "es"},
         "since es otro nombre de date_from: indicá solo uno de los dos"),
    ],
)  # fmt: skip
def test_a_bad_filter_is_explained_in_the_callers_language(db, query, headers, message):
    response = call("GET", "/api/v1/map-stats", query=query, headers=headers)
    error = response.json()["error"]
    assert (response.status, error["code"], error["message"]) == (422, "validation_error", message)


def test_tile_coordinates_are_explained_in_portuguese(db):
    response = call("GET", "/api/v1/map/tiles/3/9/1.mvt", headers={"Accept-Language": "pt"})
    assert response.json()["error"]["message"] == "x e y devem estar entre 0 e 7 no zoom 3"


def test_without_a_stated_language_the_message_stays_as_raised(db):
    response = call("GET", "/api/v1/map/tiles/3/9/1.mvt")
    assert response.json()["error"]["message"] == "x and y must be within [0, 7] at zoom 3"


def test_a_user_asking_for_another_users_data_hears_it_in_english_when_asked(user, other_user):
    query = {"user_id": str(other_user.id), "language": "en"}
    response = call("GET", "/api/v1/reports/statistics", caller=user, query=query)
    assert (response.status, response.json()["error"]["message"]) == (
        403, "Only experts and admins may read other users' data")  # fmt: skip
