"""Key material in Secrets Manager (moto's server): the auth function signs with the private set, verifiers
hold only the public set the keytool publishes - through init, rotation, pruning, interruptions and repair."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sentrix import tokens
from sentrix_auth import keytool

pytestmark = pytest.mark.integration

PRIVATE_PLACEHOLDER = '{"active": null, "previous": []}'  # what infra/template.yaml creates
PUBLIC_PLACEHOLDER = '{"keys": {}}'


@pytest.fixture
def secrets(moto_server) -> Iterator[Any]:
    tokens.reset_key_cache()
    yield boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    tokens.reset_key_cache()


@pytest.fixture
def pair(secrets) -> tuple[str, str]:
    """A fresh (private, public) pair of secrets as the stack creates them."""
    name = uuid.uuid4().hex
    private = secrets.create_secret(Name=f"signing-{name}", SecretString=PRIVATE_PLACEHOLDER)["ARN"]
    public = secrets.create_secret(Name=f"public-{name}", SecretString=PUBLIC_PLACEHOLDER)["ARN"]
    return private, public


@pytest.fixture
def cli(moto_server) -> Iterator[None]:
    # The keytool uses plain boto3 (an operator's credentials): the service endpoint variable points it at moto.
    os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = moto_server
    yield
    os.environ.pop("AWS_ENDPOINT_URL_SECRETS_MANAGER", None)


def keytool_cli(command: str, private: str, public: str) -> int:
    return keytool.main([command, "--secret-id", private, "--public-secret-id", public, "--region", "us-east-1"])


def signer(moto_server: str, private: str) -> tokens.TokenSettings:
    """The auth function's settings: the private set."""
    return tokens.TokenSettings.from_env({"AUTH_SIGNING_KEY_SECRET_ARN": private, "AWS_ENDPOINT_URL": moto_server})


def verifier(moto_server: str, public: str) -> tokens.TokenSettings:
    """The authorizer's and the report function's settings: the public set and nothing else."""
    return tokens.TokenSettings.from_env({"AUTH_PUBLIC_KEYS_SECRET_ARN": public, "AWS_ENDPOINT_URL": moto_server})


def sign(settings: tokens.TokenSettings, role: str = "user") -> str:
    return tokens.issue_access_token(user_id=uuid.uuid4(), role=role, email=None, settings=settings).token


def read(secrets, secret_id: str) -> str:
    return secrets.get_secret_value(SecretId=secret_id)["SecretString"]


def independent_kid(public_key: ec.EllipticCurvePublicKey) -> str:
    """The kid as docs/auth.md defines it (base64url SHA-256 of the DER public key, 16 characters)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode()[:16]


def active_private_key(secrets, private: str) -> ec.EllipticCurvePrivateKey:
    return serialization.load_pem_private_key(json.loads(read(secrets, private))["active"].encode(), password=None)


class InterruptedWrite:
    """The real moto client, except that writing `stop_at` fails: an operator's session ending mid-command."""

    def __init__(self, client: Any, stop_at: str) -> None:
        self.client, self.stop_at = client, stop_at
        self.writes: list[str] = []
        self.lost: str | None = None  # what the failed write would have stored

    def get_secret_value(self, **kwargs: Any) -> Any:
        return self.client.get_secret_value(**kwargs)

    def put_secret_value(self, *, SecretId: str, SecretString: str) -> Any:
        self.writes.append(SecretId)
        if SecretId == self.stop_at:
            self.lost = SecretString
            raise ConnectionError("the operator's session ended")
        return self.client.put_secret_value(SecretId=SecretId, SecretString=SecretString)


def test_init_publishes_exactly_the_active_public_key_and_nothing_private(secrets, pair, cli):
    private, public = pair

    assert keytool_cli("init", private, public) == 0

    text = read(secrets, public)
    active = active_private_key(secrets, private)
    keys = json.loads(text)["keys"]
    assert "PRIVATE KEY" not in text
    assert list(keys) == [independent_kid(active.public_key())]
    published = serialization.load_pem_public_key(keys[independent_kid(active.public_key())].encode())
    assert published.public_numbers() == active.public_key().public_numbers()
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(keys[independent_kid(active.public_key())].encode(), password=None)
    assert keytool_cli("init", private, public) == 1  # never overwrites a key


def test_every_command_that_writes_names_both_secrets(pair, cli):
    private, _ = pair
    with pytest.raises(SystemExit):
        keytool.main(["init", "--secret-id", private, "--region", "us-east-1"])


def test_a_token_signed_by_auth_is_verified_by_a_verifier_that_holds_the_public_set_only(
    moto_server, secrets, pair, cli
):
    private, public = pair
    keytool_cli("init", private, public)
    token = sign(signer(moto_server, private), role="admin")
    verifying = verifier(moto_server, public)
    assert verifying.key_secret_arn is None and verifying.key_file is None

    # Given the private secret is gone altogether, verification cannot have been reading it.
    secrets.delete_secret(SecretId=private, ForceDeleteWithoutRecovery=True)
    tokens.reset_key_cache()

    assert tokens.verify_access_token(token, verifying).role.value == "admin"


def test_a_verifier_never_falls_back_to_the_private_secret(moto_server, pair, cli):
    private, public = pair
    keytool_cli("init", private, public)
    token = sign(signer(moto_server, private))
    only_private = tokens.TokenSettings.from_env(
        {"AUTH_SIGNING_KEY_SECRET_ARN": private, "AWS_ENDPOINT_URL": moto_server}
    )

    with pytest.raises(tokens.KeysUnavailable):
        tokens.verify_access_token(token, only_private)


def test_a_warm_verifier_accepts_old_and_new_keys_after_rotation_and_refuses_the_old_after_prune(
    moto_server, pair, cli, monkeypatch
):
    private, public = pair
    keytool_cli("init", private, public)
    signing, verifying = signer(moto_server, private), verifier(moto_server, public)
    old = sign(signing)
    assert tokens.verify_access_token(old, verifying)  # the verifier now holds the one-key public set

    assert keytool_cli("rotate", private, public) == 0
    monkeypatch.setattr(tokens, "REFETCH_INTERVAL_S", 0.0)
    tokens.load_key_set(signing, refresh=True)  # the auth function picks the new key up
    new = sign(signing, role="expert")
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert len(tokens.load_verification_keys(verifying).public_keys) == 1  # the verifier is still warm

    assert tokens.verify_access_token(new, verifying).role.value == "expert"  # unknown kid: re-read
    assert tokens.verify_access_token(old, verifying).role.value == "user"

    assert keytool_cli("prune", private, public) == 0
    tokens.reset_key_cache()  # pruned keys leave a verifier when it next reads the set (a cold start)
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_access_token(old, verifying)
    assert tokens.verify_access_token(new, verifying).role.value == "expert"


def test_rotate_publishes_the_new_key_before_anything_can_sign_with_it(moto_server, secrets, pair, cli, tmp_path):
    private, public = pair
    keytool_cli("init", private, public)
    before = read(secrets, private)
    interrupted = InterruptedWrite(secrets, stop_at=private)

    with pytest.raises(ConnectionError):
        keytool.run("rotate", interrupted, private, public)

    assert interrupted.writes == [public, private]
    assert read(secrets, private) == before  # the new private key never landed
    # Whatever the private set holds now, or would have held, verifiers already accept what it signs.
    would_have_signed = Path(tmp_path / "lost.json")
    would_have_signed.write_text(interrupted.lost or "")
    tokens.reset_key_cache()
    verifying = verifier(moto_server, public)
    for signing in (signer(moto_server, private), tokens.TokenSettings(key_file=str(would_have_signed))):
        assert tokens.verify_access_token(sign(signing), verifying)


def test_prune_drops_keys_from_the_private_set_before_the_public_set(moto_server, secrets, pair, cli):
    private, public = pair
    keytool_cli("init", private, public)
    old = sign(signer(moto_server, private))
    keytool_cli("rotate", private, public)
    interrupted = InterruptedWrite(secrets, stop_at=public)

    with pytest.raises(ConnectionError):
        keytool.run("prune", interrupted, private, public)

    assert interrupted.writes == [private, public]
    assert json.loads(read(secrets, private))["previous"] == []
    tokens.reset_key_cache()
    assert tokens.verify_access_token(old, verifier(moto_server, public))  # nobody is refused early
    assert keytool_cli("publish", private, public) == 0  # the repair
    tokens.reset_key_cache()
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_access_token(old, verifier(moto_server, public))


def test_publish_migrates_a_stack_from_before_the_public_set(moto_server, secrets, pair, cli):
    private, public = pair
    assert keytool_cli("publish", private, public) == 1  # nothing to publish before init
    # Given a private set filled and rotated before the public set existed (the old keytool wrote only it).
    old_pem, new_pem = tokens.generate_private_key_pem(), tokens.generate_private_key_pem()
    old_public = serialization.load_pem_private_key(old_pem.encode(), password=None).public_key()
    legacy = {
        "active": new_pem,
        "previous": [
            old_public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
        ],
    }
    secrets.put_secret_value(SecretId=private, SecretString=json.dumps(legacy))
    token = sign(signer(moto_server, private))
    with pytest.raises(tokens.KeysUnavailable):
        tokens.verify_access_token(token, verifier(moto_server, public))  # the placeholder holds no key

    assert keytool_cli("publish", private, public) == 0

    tokens.reset_key_cache()
    new_public = serialization.load_pem_private_key(new_pem.encode(), password=None).public_key()
    assert list(json.loads(read(secrets, public))["keys"]) == [independent_kid(new_public), independent_kid(old_public)]
    assert json.loads(read(secrets, private)) == legacy  # publish never touches the private set
    assert tokens.verify_access_token(token, verifier(moto_server, public))


def test_tokens_signed_by_a_key_outside_the_public_set_are_refused(moto_server, secrets, pair, cli):
    private, public = pair
    keytool_cli("init", private, public)
    verifying = verifier(moto_server, public)
    genuine = sign(signer(moto_server, private), role="admin")
    claims = jwt.decode(genuine, options={"verify_signature": False})
    stranger = ec.generate_private_key(ec.SECP256R1())
    real_kid = independent_kid(active_private_key(secrets, private).public_key())

    own_kid = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": independent_kid(stranger.public_key())})
    borrowed_kid = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": real_kid})

    for forged in (own_kid, borrowed_kid):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify_access_token(forged, verifying)
    assert tokens.verify_access_token(genuine, verifying).role.value == "admin"


def test_the_authorizer_handler_deployed_as_the_template_wires_it_reads_the_public_set(
    moto_server, pair, cli, monkeypatch
):
    from sentrix_auth import authorizer

    private, public = pair
    keytool_cli("init", private, public)
    token = sign(signer(moto_server, private), role="admin")
    # The authorizer's environment in infra/template.yaml: the public set, no private secret, no key file.
    monkeypatch.setenv("AUTH_PROVIDER", "builtin")
    monkeypatch.setenv("AUTH_PUBLIC_KEYS_SECRET_ARN", public)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.delenv("AUTH_SIGNING_KEY_SECRET_ARN", raising=False)
    monkeypatch.delenv("AUTH_SIGNING_KEY_FILE", raising=False)
    tokens.reset_key_cache()
    event = {
        "headers": {"Authorization": f"Bearer {token}"},
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/v1/GET/api/v1/users",
    }

    answer = authorizer.handler(event, None)

    assert answer["context"]["role"] == "admin"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
