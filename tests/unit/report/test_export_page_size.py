"""Export pages stay far below Lambda's 6 MB answer limit: at most 1000 rows each (docs/report.md, Exports)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sentrix_report.logic.exports import _limit
from sentrix_report.settings import ReportSettings, get_report_settings


@pytest.fixture(autouse=True)
def fresh_settings():
    get_report_settings.cache_clear()
    yield
    get_report_settings.cache_clear()


def test_a_page_holds_at_most_1000_rows_whatever_is_asked():
    assert _limit(None) == 1000
    assert _limit(5000) == 1000
    assert _limit(1_000_000) == 1000
    assert _limit(7) == 7


def test_the_operator_cannot_raise_the_page_over_1000_rows():
    with pytest.raises(ValidationError):
        ReportSettings(export_max_limit=5000)
