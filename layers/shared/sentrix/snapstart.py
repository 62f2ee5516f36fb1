"""Lambda SnapStart runtime hooks of the HTTP functions (docs/infra.md (SnapStart)).

With SnapStart, Lambda initializes a published version once, snapshots the environment's memory, and starts
every new environment of that version from the snapshot. Whatever the snapshot holds is shared by all of
them, so it must hold nothing that is per-environment or secret:

- before the snapshot: import what the function would otherwise import on its first request, and load the AWS
  SDK's service models (through a client built with placeholder keys and thrown away: no real credential is
  resolved); then forget every database engine (no pooled connection, and not the password inside its URL) and
  every cache that may hold a credential or a secret;
- after a restore: forget the same again (in case anything was built since), and reseed `random`, so that
  environments restored from the same snapshot do not draw the same retry jitter.

Each HTTP function's handler module calls `install(<function>)` at import. Cheap to import (the authorizer
imports it): the standard library and `snapshot_restore_py` only; everything else is imported by the hooks.
Without SnapStart the hooks never run.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
from collections.abc import Iterable

from snapshot_restore_py import register_after_restore, register_before_snapshot

# (module, callable): state to forget, called only when the module is imported already (nothing to forget
# otherwise, and importing it here would cost the cold start it is meant to save).
Forget = tuple[str, str]

SHARED_FORGET: tuple[Forget, ...] = (
    # Pooled database connections, and the engine's URL with the application role's password in it.
    ("sentrix.db.engine", "reset_engine"),
    # Signing and verification key sets read from Secrets Manager.
    ("sentrix.tokens", "reset_key_cache"),
    # Cached boto3 clients: each holds the credentials it resolved.
    ("sentrix.adapters.aws", "reset_clients"),
    # The YOLO client: an httpx pool with open connections.
    ("sentrix.adapters.yolo", "reset_yolo_client"),
    # Powertools' parameter and secret cache (the database secret, 5 minutes).
    ("aws_lambda_powertools.utilities.parameters", "clear_caches"),
)

# What each function imports on first use rather than at start-up (so plain cold starts stay short); in a
# snapshot they cost nothing at restore. (module, callable) entries are called too: warm-ups holding no secret.
_FASTAPI_COMMON = (
    "boto3",
    "botocore.config",
    "ssl",
    "httpx",
    "aws_lambda_powertools.utilities.parameters",
    "sentrix.db.engine",
    "sentrix.db.models",
    "geoalchemy2",  # the models' geometry columns load it on first use (sentrix.db.geometry)
    "sentrix.http.identity",
    "sentrix.http.locale",
    "sentrix.adapters.storage",
    "sentrix.adapters.queue",
)
WARM: dict[str, tuple[str | Forget, ...]] = {
    "auth": (
        *_FASTAPI_COMMON,
        "sentrix.passwords",
        "sentrix_auth.providers.builtin",
        # The timing dummy unknown e-mails are checked against: one argon2 hash, no secret.
        ("sentrix.passwords", "_dummy_hash"),
    ),
    "authorizer": ("boto3",),
    "upload": (
        *_FASTAPI_COMMON,
        "sentrix.adapters.yolo",
        "sentrix.shapes",
        ("sentrix.image_checks", "pillow"),
    ),
    "report": (
        *_FASTAPI_COMMON,
        "sentrix_report.dal.keys",
        "sentrix_report.render.aggregate_pdf",
        "sentrix_report.render.analysis_pdf",
        "sentrix_report.render.map_image",
        "sentrix_report.render.provenance",
        "sentrix_report.render.report_csv",
    ),
}
# AWS services each function calls: their models are loaded before the snapshot.
SERVICES: dict[str, tuple[str, ...]] = {
    "auth": ("secretsmanager", "s3", "sqs"),
    "authorizer": ("secretsmanager",),
    "upload": ("secretsmanager", "s3", "sqs"),
    "report": ("secretsmanager", "s3", "sqs"),
}
# Function-specific caches of secrets or connections.
FORGET: dict[str, tuple[Forget, ...]] = {
    "auth": (
        ("sentrix_auth.providers.factory", "reset_provider"),
        ("sentrix_auth.adapters.supabase_tokens", "forget_secrets"),
    ),
    "authorizer": (("sentrix_auth.adapters.supabase_tokens", "forget_secrets"),),
    "upload": (("sentrix_upload.logic.image_urls", "clear"),),
    "report": (("sentrix_report.dal.keys", "forget_keys"),),
}

_installed: set[str] = set()


def install(function: str) -> None:
    """Register this function's hooks with the runtime (once per process, whatever imports it again)."""
    if function not in WARM:
        raise ValueError(f"no SnapStart hooks for {function!r}")
    if function in _installed:
        return
    _installed.add(function)
    register_before_snapshot(before_snapshot, function)
    register_after_restore(after_restore, function)


def before_snapshot(function: str) -> None:
    """Warm the deferred imports and SDK models, then leave no connection, credential or secret behind."""
    for entry in WARM[function]:
        if isinstance(entry, str):
            importlib.import_module(entry)
        else:
            module, name = entry
            getattr(importlib.import_module(module), name)()
    _load_service_models(SERVICES[function])
    forget(function)


def after_restore(function: str) -> None:
    """A new environment from the shared snapshot: forget what it cannot share, draw its own randomness."""
    forget(function)
    # Seeded from the kernel of this environment, not the state every restore of the snapshot starts from.
    random.seed(os.urandom(32))


def forget(function: str) -> None:
    """Drop every engine, client and cached secret this process holds (only from modules already imported)."""
    for module_name, name in (*SHARED_FORGET, *FORGET.get(function, ())):
        module = sys.modules.get(module_name)
        if module is not None:
            getattr(module, name)()
    _forget_boto3_credentials()


def _load_service_models(services: Iterable[str]) -> None:
    """Build (and drop) a client per service with placeholder keys: botocore loads and keeps the service's
    model, endpoint rules and partitions in its default session, and resolves no credential."""
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    for service in services:
        boto3.client(
            service,
            region_name=region,
            aws_access_key_id="snapshot-placeholder",
            aws_secret_access_key="snapshot-placeholder",  # noqa: S106 - not a secret: never signs a call
        )


def _forget_boto3_credentials() -> None:
    """boto3's default session keeps the credentials it resolved the first time; make it resolve them again.

    botocore has no public reset for them: its Session.get_credentials re-reads the provider chain when
    `_credentials` is None, and the loaded models (the expensive part) stay.
    """
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None)
    if session is not None:
        session._session._credentials = None
