"""Password policy and hashing, email normalisation, settings merging: pure rules with their edges."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sentrix import passwords
from sentrix.errors import ValidationFailed
from sentrix_auth.logic.emails import normalise_email
from sentrix_auth.logic.settings import DEFAULTS, SettingsUpdate, merged


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("1234567", None),
        ("Password123", None),
        ("ana@example.org", "Ana@Example.org"),
        ("ana12345", "ana12345@x.org"),
        ("x" * 257, None),
    ],
)
def test_policy_refuses(password, email):
    with pytest.raises(ValidationFailed):
        passwords.check_policy(password, email=email)


def test_policy_accepts_eight_uncommon_characters():
    passwords.check_policy("kx7!quv2", email="ana@example.org")


def test_hashes_are_argon2id_salted_and_verifiable():
    first, second = passwords.hash_password("a fine passphrase"), passwords.hash_password("a fine passphrase")
    assert first.startswith("$argon2id$") and first != second
    assert passwords.verify_password(first, "a fine passphrase")
    assert not passwords.verify_password(first, "another passphrase")
    assert not passwords.verify_password(None, "a fine passphrase")  # the dummy never matches
    assert not passwords.verify_password("not-a-hash", "a fine passphrase")
    assert not passwords.needs_rehash(first)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Ana.Perez+dengue@Example.ORG ", "ana.perez+dengue@example.org"), ("x@sub.xn--p1ai", "x@sub.xn--p1ai")],
)
def test_emails_are_normalised(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "plain",
        "@example.org",
        "a@b",
        "a@-b.org",
        "a..b@example.org",
        "a@example.1",
        "a b@example.org",
        "a@" + "x" * 250 + ".org",
    ],
)
def test_malformed_emails_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_email(raw)


def test_merging_keeps_defaults_and_drops_stale_or_invalid_stored_keys():
    result = merged({"language": "en", "obsolete": 1, "default_confidence_threshold": 2.0})
    assert result["language"] == "en"
    assert "obsolete" not in result
    assert result["default_confidence_threshold"] == DEFAULTS["default_confidence_threshold"]


@pytest.mark.parametrize(
    "body",
    [
        {"language": "de"},
        {"timezone": "Nowhere/City"},
        {"default_include_gps": "true"},
        {"default_confidence_threshold": 0.96},
        {"colour": "red"},
    ],
)
def test_settings_updates_are_strict(body):
    with pytest.raises(ValidationError):
        SettingsUpdate.model_validate(body)


def test_thresholds_accept_the_bounds_and_integers_are_not_languages():
    assert SettingsUpdate.model_validate({"default_confidence_threshold": 0.5}).default_confidence_threshold == 0.5
    assert SettingsUpdate.model_validate({"default_confidence_threshold": 0.95}).default_confidence_threshold == 0.95
    with pytest.raises(ValidationError):
        SettingsUpdate.model_validate({"language": 1})


def test_sign_in_throttling_defaults_keep_the_nist_ceiling():
    from pydantic import ValidationError

    from sentrix_auth.settings import AuthSettings

    settings = AuthSettings()
    assert settings.login_failures_per_account_ip == 5
    assert settings.login_failures_per_ip == 100  # higher than an account's: carrier NAT
    assert settings.login_account_ceiling == 100  # NIST SP 800-63B 5.2.2
    assert settings.login_backoff_after < settings.login_account_ceiling
    with pytest.raises(ValidationError):
        AuthSettings(login_account_ceiling=101)


def test_a_stale_stored_key_does_not_hide_the_keys_after_it():
    # dict order is the stored order: the unknown key comes first, the valid ones after it still count
    result = merged({"obsolete": 1, "language": "en", "timezone": "America/Argentina/Tucuman"})

    assert result["language"] == "en"
    assert result["timezone"] == "America/Argentina/Tucuman"
