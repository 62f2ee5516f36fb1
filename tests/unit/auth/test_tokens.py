"""Access tokens: claims, pinned algorithm, key sets with previous keys, rotation seen by a warm verifier."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest

from sentrix import tokens
from sentrix.domain.roles import Role
from sentrix.tokens import InvalidToken, KeysUnavailable, TokenSettings


@pytest.fixture(autouse=True)
def _fresh_cache():
    tokens.reset_key_cache()
    yield
    tokens.reset_key_cache()


def settings_for(path) -> TokenSettings:
    return TokenSettings(key_file=str(path))


def test_issued_tokens_carry_every_claim_and_a_kid(tmp_path):
    settings = settings_for(tokens.write_key_file(tmp_path / "k.pem"))
    user_id = uuid.uuid4()
    issued = tokens.issue_access_token(user_id=user_id, role="expert", email="e@example.org", settings=settings)
    header = jwt.get_unverified_header(issued.token)
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert header["alg"] == "ES256" and header["kid"] == tokens.load_key_set(settings).signing_kid
    assert set(tokens.REQUIRED_CLAIMS) <= set(claims)
    assert claims["exp"] - claims["iat"] == 900 and claims["aud"] == "sentrix-api" and claims["iss"] == "sentrix"
    verified = tokens.verify_access_token(issued.token, settings)
    assert (verified.user_id, verified.role, verified.email) == (user_id, Role.EXPERT, "e@example.org")


def test_min_issued_at_dates_a_token_to_the_cut_off_second(tmp_path):
    settings = settings_for(tokens.write_key_file(tmp_path / "k.pem"))
    now = time.time()
    issued = tokens.issue_access_token(
        user_id=uuid.uuid4(), role="user", email=None, settings=settings, now=now, min_issued_at=int(now) + 1
    )
    assert issued.issued_at == int(now) + 1
    assert tokens.verify_access_token(issued.token, settings).issued_at == int(now) + 1


def test_tokens_signed_with_a_previous_key_stay_valid_after_rotation(tmp_path):
    old_pem = tokens.generate_private_key_pem()
    old_file = tmp_path / "old.pem"
    old_file.write_text(old_pem)
    old_token = tokens.issue_access_token(
        user_id=uuid.uuid4(), role="user", email=None, settings=settings_for(old_file)
    )
    rotated = tmp_path / "set.json"
    rotated.write_text(
        json.dumps({"active": tokens.generate_private_key_pem(), "previous": [tokens.public_key_pem(old_pem)]})
    )
    settings = settings_for(rotated)
    new_token = tokens.issue_access_token(user_id=uuid.uuid4(), role="user", email=None, settings=settings)
    assert jwt.get_unverified_header(new_token.token)["kid"] != jwt.get_unverified_header(old_token.token)["kid"]
    assert tokens.verify_access_token(old_token.token, settings).role is Role.USER
    assert tokens.verify_access_token(new_token.token, settings).role is Role.USER


def test_a_warm_verifier_rereads_the_key_set_on_an_unknown_kid(tmp_path, monkeypatch):
    key_file = tmp_path / "set.json"
    first = tokens.generate_private_key_pem()
    key_file.write_text(json.dumps({"active": first}))
    settings = settings_for(key_file)
    tokens.load_verification_keys(settings)  # cached, like a warm authorizer
    second = tokens.generate_private_key_pem()
    key_file.write_text(json.dumps({"active": second, "previous": [tokens.public_key_pem(first)]}))
    signer = tmp_path / "second.pem"
    signer.write_text(second)
    token = tokens.issue_access_token(user_id=uuid.uuid4(), role="admin", email=None, settings=settings_for(signer))
    monkeypatch.setattr(tokens, "REFETCH_INTERVAL_S", 0.0)
    assert tokens.verify_access_token(token.token, settings).role is Role.ADMIN


def test_verify_only_key_sets_cannot_sign(tmp_path):
    key_file = tmp_path / "public.json"
    key_file.write_text(
        json.dumps({"active": None, "previous": [tokens.public_key_pem(tokens.generate_private_key_pem())]})
    )
    with pytest.raises(KeysUnavailable):
        tokens.issue_access_token(user_id=uuid.uuid4(), role="user", email=None, settings=settings_for(key_file))


@pytest.mark.parametrize("content", ["not a key", '{"active": null, "previous": []}', '{"active": "-----BEGIN"}'])
def test_unusable_key_material_is_a_configuration_fault(tmp_path, content):
    key_file = tmp_path / "bad"
    key_file.write_text(content)
    with pytest.raises(KeysUnavailable):
        tokens.load_key_set(settings_for(key_file))


def test_rsa_keys_are_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "rsa.pem"
    key_file.write_bytes(pem)
    with pytest.raises(KeysUnavailable, match="P-256"):
        tokens.load_key_set(settings_for(key_file))


def test_no_configuration_at_all_is_reported():
    with pytest.raises(KeysUnavailable):
        tokens.load_key_set(TokenSettings())


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_garbage_is_an_invalid_token(tmp_path, token):
    settings = settings_for(tokens.write_key_file(tmp_path / "k.pem"))
    with pytest.raises(InvalidToken):
        tokens.verify_access_token(token, settings)


def test_key_files_are_private_and_never_overwritten(tmp_path):
    path = tokens.write_key_file(tmp_path / "k.pem")
    before = path.read_text()
    assert path.stat().st_mode & 0o077 == 0
    assert tokens.write_key_file(path).read_text() == before


def test_ttl_outside_bounds_is_refused():
    with pytest.raises(KeysUnavailable):
        TokenSettings.from_env({"ACCESS_TOKEN_TTL_S": "5"})
    assert TokenSettings.from_env({"ACCESS_TOKEN_TTL_S": "600"}).access_ttl_s == 600


def test_the_session_id_travels_as_sid_and_into_the_authorizer_context(tmp_path):
    from sentrix_auth.authorizer import context_for

    family = uuid.uuid4()
    settings = settings_for(tokens.write_key_file(tmp_path / "k.pem"))
    issued = tokens.issue_access_token(
        user_id=uuid.uuid4(), role="user", email=None, settings=settings, session_id=family
    )

    claims = tokens.verify_access_token(issued.token, settings)

    assert jwt.decode(issued.token, options={"verify_signature": False})["sid"] == str(family)
    assert claims.session_id == family and context_for(claims)["sid"] == str(family)
    no_session = tokens.issue_access_token(user_id=uuid.uuid4(), role="user", email=None, settings=settings)
    assert tokens.verify_access_token(no_session.token, settings).session_id is None


def _public_set_of(private_pem: str) -> dict:
    """The public set built by hand (SubjectPublicKeyInfo PEM under the docs' kid), not by the code under test."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization

    public = serialization.load_pem_private_key(private_pem.encode(), password=None).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode()[:16]
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"keys": {kid: pem}}


def test_the_public_set_holds_verification_keys_and_nothing_to_sign_with():
    private_pem = tokens.generate_private_key_pem()
    expected = _public_set_of(private_pem)

    keys = tokens.parse_public_key_set(json.dumps(expected))

    assert (keys.signing_key, keys.signing_kid) == (None, None)
    assert list(keys.public_keys) == list(expected["keys"])
    assert tokens.public_key_set(tokens.parse_key_set(private_pem)) == expected


def test_a_public_set_holding_a_private_key_is_refused():
    private_pem = tokens.generate_private_key_pem()
    (kid,) = _public_set_of(private_pem)["keys"]
    with pytest.raises(KeysUnavailable, match="private key material"):
        tokens.parse_public_key_set(json.dumps({"keys": {kid: private_pem}}))


@pytest.mark.parametrize(
    "content",
    ['{"keys": {}}', '{"active": null, "previous": []}', "not json", '{"keys": {"k": "-----BEGIN PUBLIC KEY-----"}}'],
)
def test_an_unusable_public_set_is_a_configuration_fault(content):
    with pytest.raises(KeysUnavailable):
        tokens.parse_public_key_set(content)


def test_a_public_key_filed_under_another_kid_is_refused():
    first, second = _public_set_of(tokens.generate_private_key_pem()), _public_set_of(tokens.generate_private_key_pem())
    mislabelled = {"keys": {next(iter(first["keys"])): next(iter(second["keys"].values()))}}
    with pytest.raises(KeysUnavailable, match="kid"):
        tokens.parse_public_key_set(json.dumps(mislabelled))


def test_a_local_verifier_takes_the_public_halves_of_the_key_file(tmp_path):
    settings = settings_for(tokens.write_key_file(tmp_path / "k.pem"))
    keys = tokens.load_verification_keys(settings)
    assert keys.signing_key is None
    assert list(keys.public_keys) == [tokens.load_key_set(settings).signing_kid]


def test_a_verifier_without_the_public_set_or_a_key_file_has_no_keys():
    with pytest.raises(KeysUnavailable, match="AUTH_PUBLIC_KEYS_SECRET_ARN"):
        tokens.load_verification_keys(TokenSettings(key_secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x"))
