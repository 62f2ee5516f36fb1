"""SnapStart runtime hooks (sentrix.snapstart): each HTTP handler registers them, and the state they leave.

The hooks are called the way the Lambda runtime calls them: from snapshot_restore_py's registry.
PostgreSQL and boto3 credentials are covered in tests/integration/test_snapstart.py.
"""

from __future__ import annotations

import importlib
import random

import pytest
import snapshot_restore_py

from sentrix import snapstart

HANDLER_MODULES = {
    "auth": "sentrix_auth.api",
    "authorizer": "sentrix_auth.authorizer",
    "upload": "sentrix_upload.api",
    "report": "sentrix_report.api",
}


def registered(registry: list, hook, function: str) -> list:
    """The (callable, args, kwargs) entries of `registry` that run `hook` for `function`."""
    return [entry for entry in registry if entry[0] is hook and entry[1] == (function,)]


def run_after_restore(function: str) -> None:
    for hook, args, kwargs in registered(snapshot_restore_py.get_after_restore(), snapstart.after_restore, function):
        hook(*args, **kwargs)


@pytest.mark.parametrize(("function", "module"), sorted(HANDLER_MODULES.items()))
def test_every_http_handler_registers_both_hooks_once(function, module):
    # Given the handler module, imported as Lambda imports it, and installed once more by anyone
    importlib.import_module(module)
    snapstart.install(function)

    # Then each hook is registered exactly once for that function
    assert len(registered(snapshot_restore_py.get_before_snapshot(), snapstart.before_snapshot, function)) == 1
    assert len(registered(snapshot_restore_py.get_after_restore(), snapstart.after_restore, function)) == 1


def test_an_unknown_function_cannot_install_hooks():
    with pytest.raises(ValueError, match="no SnapStart hooks"):
        snapstart.install("detect")


def test_two_restores_of_one_snapshot_draw_different_random_numbers():
    # Given the state of `random` as a snapshot holds it
    importlib.import_module("sentrix_upload.api")
    random.seed(1234)
    snapshot = random.getstate()
    without_hook = random.random()
    random.setstate(snapshot)
    assert random.random() == without_hook  # what every restored environment would draw without the hook

    # When two environments are restored from it
    random.setstate(snapshot)
    run_after_restore("upload")
    first = [random.random() for _ in range(3)]
    random.setstate(snapshot)
    run_after_restore("upload")
    second = [random.random() for _ in range(3)]

    # Then they draw their own numbers
    assert first != second
    assert without_hook not in (first[0], second[0])


def test_after_restore_the_presigned_urls_are_signed_again(monkeypatch):
    from sentrix_upload.logic import image_urls

    importlib.import_module("sentrix_upload.api")
    signed: list[str] = []
    monkeypatch.setattr(
        image_urls._default, "_sign", lambda bucket, key, ttl: signed.append(key) or f"url-{len(signed)}"
    )
    image_urls.clear()
    first = image_urls.image_url("bucket", "a.jpg")
    assert image_urls.image_url("bucket", "a.jpg") == first  # cached while the environment lives
    assert signed == ["a.jpg"]

    run_after_restore("upload")

    assert image_urls.image_url("bucket", "a.jpg") == "url-2"
    assert signed == ["a.jpg", "a.jpg"]


def test_after_restore_the_key_sets_are_read_again():
    from sentrix import tokens

    importlib.import_module("sentrix_auth.authorizer")
    reads: list[int] = []

    def read() -> tokens.KeySet:
        reads.append(1)
        return tokens.KeySet(None, None, {})

    tokens.reset_key_cache()
    tokens._cached(("verifying", "test", None), read, refresh=False)
    tokens._cached(("verifying", "test", None), read, refresh=False)
    assert len(reads) == 1 and tokens._cache

    run_after_restore("authorizer")

    assert tokens._cache == {}
    tokens._cached(("verifying", "test", None), read, refresh=False)
    assert len(reads) == 2


def test_after_restore_the_report_keys_and_parameter_cache_are_gone():
    from aws_lambda_powertools.utilities.parameters import base

    from sentrix_report.dal import keys

    importlib.import_module("sentrix_report.api")
    keys._memo()["k_anonymity"] = "a" * 64
    base.DEFAULT_PROVIDERS["secrets"] = object()  # a provider holding a cached secret

    run_after_restore("report")

    assert keys._memo() == {}
    assert base.DEFAULT_PROVIDERS == {}


def test_after_restore_the_supabase_key_clients_are_built_again():
    from sentrix_auth.adapters import supabase_tokens

    importlib.import_module("sentrix_auth.api")
    supabase_tokens._jwks_client("https://project.example/auth/v1/.well-known/jwks.json")
    assert supabase_tokens._jwks_client.cache_info().currsize == 1

    run_after_restore("auth")

    assert supabase_tokens._jwks_client.cache_info().currsize == 0


def test_the_authorizer_import_stays_free_of_the_hooks_heavy_work():
    # The authorizer imports sentrix.snapstart on every cold start: stdlib and snapshot_restore_py only.
    import subprocess
    import sys

    heavy = ("boto3", "sqlalchemy", "fastapi", "aws_lambda_powertools")
    code = f"import sys, sentrix.snapstart; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def run_before_snapshot(function: str) -> None:
    for hook, args, kwargs in registered(
        snapshot_restore_py.get_before_snapshot(), snapstart.before_snapshot, function
    ):
        hook(*args, **kwargs)


@pytest.mark.parametrize("function", sorted(HANDLER_MODULES))
def test_before_the_snapshot_the_deferred_imports_are_loaded_and_no_credential_is_held(function):
    import sys

    # Given the function's handler, imported at init
    importlib.import_module(HANDLER_MODULES[function])

    # When Lambda is about to snapshot it
    run_before_snapshot(function)

    # Then what it defers to its first request is imported, and no client or credential is kept
    modules = [entry for entry in snapstart.WARM[function] if isinstance(entry, str)]
    assert [m for m in modules if m not in sys.modules] == []
    import boto3

    from sentrix.adapters import aws

    assert aws.client.cache_info().currsize == 0
    assert boto3.DEFAULT_SESSION._session._credentials is None
