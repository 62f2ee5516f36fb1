"""The detail statement's text, cut into parts once, is exactly what `str.format` makes of the template."""

from __future__ import annotations

import uuid

import pytest

from sentrix_upload.dal.analyses import DETAIL_WITH_CALLER, detail_sql

VALUES = {
    "analysis_id": uuid.UUID("5f0c4e0e-54a8-4b55-9d1c-3c3f0f2a9b11"),
    "caller_id": uuid.UUID("00000000-0000-4000-8000-000000000001"),
    "session_ended": "EXISTS (SELECT 1 FROM refresh_tokens AS ended WHERE ended.user_id = u.id)",
    "limit": 50,
    "offset": 150,
}


def test_the_rendered_statement_is_str_formats():
    rendered = detail_sql(**VALUES)

    assert rendered == DETAIL_WITH_CALLER.format(**VALUES)
    assert "'5f0c4e0e-54a8-4b55-9d1c-3c3f0f2a9b11'::uuid" in rendered
    assert "LIMIT 50 OFFSET 150" in rendered
    assert "'{}'::jsonb" in rendered  # the template's escaped braces come out single


def test_a_missing_value_is_an_error_not_an_empty_field():
    with pytest.raises(KeyError):
        detail_sql(**{k: v for k, v in VALUES.items() if k != "offset"})
