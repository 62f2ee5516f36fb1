"""Pure helpers behind what reports print: reporter pseudonyms, review states, header widths."""

from __future__ import annotations

import uuid

import pytest

from sentrix_report.logic.aggregate_report import reporter_pseudonym, review_state
from sentrix_report.settings import get_report_settings


@pytest.fixture
def salt(monkeypatch):
    def use(value: str) -> None:
        monkeypatch.setenv("REPORT_PSEUDONYM_SALT", value)
        get_report_settings.cache_clear()

    yield use
    get_report_settings.cache_clear()


def test_reporter_pseudonyms_are_short_stable_and_salted(salt):
    user = uuid.UUID("7f1c2a34-1111-4222-8333-944455556666")
    salt("deployment-one-salt")
    first = reporter_pseudonym(user)
    assert len(first) == 8 and int(first, 16) >= 0
    assert reporter_pseudonym(str(user)) == first  # the same person is the same pseudonym in every report
    assert first not in str(user) and reporter_pseudonym(uuid.uuid4()) != first
    salt("deployment-two-salt")
    assert reporter_pseudonym(user) != first  # another deployment cannot link its pseudonyms to ours
    assert reporter_pseudonym(None) is None


@pytest.mark.parametrize(
    ("total", "confirmed", "rejected", "state"),
    [(0, 0, 0, "no_detections"), (3, 0, 0, "pending"), (3, 1, 0, "partial"), (3, 1, 2, "reviewed")],
)
def test_review_state_of_an_analysis(total, confirmed, rejected, state):
    assert review_state(total, confirmed, rejected) == state


def test_header_words_get_the_width_they_need_from_columns_with_room():
    from reportlab.lib.units import cm

    from sentrix_report.render.pdf_base import fit_widths

    rows = [["#", "Detecciones", "Ubicación de la foto"], ["1", "4", "-26.80000, -65.20000"]]
    widths = fit_widths(rows, [0.6 * cm, 1.0 * cm, 10 * cm], 8.5, 8.5)
    assert widths[1] > 1.0 * cm  # "Detecciones" no longer breaks inside the word
    assert sum(widths) == pytest.approx(11.6 * cm)  # taken from the wide column, the table keeps its width
    with pytest.raises(ValueError):
        fit_widths([["Detecciones", "Confirmadas"]], [1 * cm, 1 * cm], 8.5, 8.5)


def test_the_coverage_of_a_report_is_stated_in_words():
    from sentrix.i18n import Locale
    from sentrix_report.render.provenance import coverage_pairs

    meta = {
        "coverage": {
            "verdict": "not_rejected",
            "validation_statuses": ["pending", "requires_review", "validated_positive"],
            "validity": "active",
            "as_of": "2026-06-01T12:00:00+00:00",
            "created_from": "2026-05-01T00:00:00+00:00",
            "created_before": None,
        }
    }
    assert coverage_pairs(meta, Locale("en", "UTC")) == [
        ("Verdicts counted", "Not rejected (Pending, Needs review, Confirmed by an expert)"),
        ("Upload window", "2026-05-01 00:00 (UTC+00:00) – open"),
    ]
    assert coverage_pairs({}, Locale("es")) == []
