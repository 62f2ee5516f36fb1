"""The application role's credentials: read from an RDS-format secret, never shown, checked before use."""

from __future__ import annotations

import base64
import json

import pytest

from sentrix.db.roles import RoleCredentials, RolePasswordError, credentials_from_secret, scram_verifier

SECRET = json.dumps({"username": "sentrix_app", "password": "Gh7TqP2wLm9x", "dbname": "sentrix", "port": 5432})


def test_the_credentials_of_an_rds_secret_for_the_expected_role():
    assert credentials_from_secret(SECRET, expected_role="sentrix_app") == RoleCredentials(
        "sentrix_app", "Gh7TqP2wLm9x"
    )


def test_credentials_never_show_their_password():
    credentials = credentials_from_secret(SECRET, expected_role="sentrix_app")
    assert "Gh7TqP2wLm9x" not in repr(credentials) and "Gh7TqP2wLm9x" not in str(credentials)


def test_a_secret_for_another_role_is_refused_without_its_password():
    with pytest.raises(RolePasswordError) as refused:
        credentials_from_secret(SECRET, expected_role="reporting")
    assert "'sentrix_app'" in str(refused.value) and "Gh7TqP2wLm9x" not in str(refused.value)


@pytest.mark.parametrize("text", ["not json", "[]", json.dumps({"username": "sentrix_app"})])
def test_a_secret_that_is_not_rds_format_is_refused(text):
    with pytest.raises(RolePasswordError, match="not an RDS secret"):
        credentials_from_secret(text, expected_role="sentrix_app")


@pytest.mark.parametrize("password", ["", "contraseña"])
def test_only_non_empty_ascii_passwords_get_a_verifier(password):
    with pytest.raises(RolePasswordError):
        scram_verifier(password)


def test_the_verifier_is_postgresql_s_format_with_a_fresh_salt_each_time():
    first, second = scram_verifier("Gh7TqP2wLm9x"), scram_verifier("Gh7TqP2wLm9x")
    # SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, keys 32 bytes (SHA-256), salt 16 bytes
    method, rest = first.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key, server_key = keys.split(":")
    assert (method, iterations) == ("SCRAM-SHA-256", "4096")
    assert [len(base64.b64decode(part)) for part in (salt, stored_key, server_key)] == [16, 32, 32]
    assert first != second and "Gh7TqP2wLm9x" not in first
