"""A refusal named by a catalogue key speaks the catalogue's words: its English `message` (callers that state no
language, logs) is the catalogue's English unless the raise gives one; a refusal without a key needs a message."""

from __future__ import annotations

import pytest

from sentrix.errors import NotFound, RateLimited, ValidationFailed


def test_a_keyed_error_without_a_message_takes_the_catalogues_english_filled_in():
    error = ValidationFailed(key="err.territory_unknown", details={"territory": "X9"}, code="X9")
    assert error.message == str(error) == "Unknown territory: X9"  # messages_en: "Unknown territory: {code}"
    assert (error.key, error.values, error.details) == ("err.territory_unknown", {"code": "X9"}, {"territory": "X9"})


def test_a_message_given_is_kept_beside_its_key():
    error = NotFound("Gone", key="err.site_not_found")
    assert (error.message, error.key) == ("Gone", "err.site_not_found")


def test_a_rate_limit_takes_the_catalogues_words_too():
    error = RateLimited(key="err.detection_not_found", retry_after=0)
    assert (error.message, error.retry_after, error.details) == ("Detection not found", 1, {"retry_after": 1})


def test_an_error_with_neither_message_nor_key_is_a_programming_error():
    with pytest.raises(TypeError, match="message or a catalogue key"):
        ValidationFailed()
