"""The authorizer's cold import against a bare `import jwt`, and warm token verification against raw PyJWT.

Targets (issue 3): cold import ≤ 2× `import jwt` (fresh interpreter, bytecode compiled); verification well
under 1 ms per token, and close to what PyJWT's own ES256 decode costs.
"""

from __future__ import annotations

import compileall
import os
import sys
import tempfile
import uuid
from pathlib import Path

from bench.harness import REPO_ROOT, Result, cold_import_ms, median_time
from tests.support.environ import restore_environ, saved_environ

SUITE = "authorizer"
PATHS = [str(REPO_ROOT / "layers/shared"), str(REPO_ROOT / "functions/auth")]


def _cold_import(quick: bool) -> list[Result]:
    # Bytecode compiled first, as in a deployed package; each sample is a fresh interpreter.
    for path in PATHS:
        compileall.compile_dir(path, quiet=1)
    repeat = 5 if quick else 11
    baseline = cold_import_ms("import jwt", repeat=repeat, sys_path=PATHS)
    authorizer = cold_import_ms("import sentrix_auth.authorizer", repeat=repeat, sys_path=PATHS)
    return [
        Result(
            SUITE,
            "cold import of sentrix_auth.authorizer",
            authorizer,
            "ms",
            "import jwt",
            baseline,
            target_ratio=2.0,
            notes="fresh interpreter per sample, bytecode compiled; median",
        )
    ]


def _warm_verification(quick: bool) -> list[Result]:
    import jwt
    from cryptography.hazmat.primitives import serialization

    from sentrix import tokens
    from sentrix_auth import authorizer

    directory = Path(tempfile.mkdtemp(prefix="bench-authorizer-"))
    key_file = tokens.write_key_file(directory / "key.pem")
    saved = saved_environ((tokens.KEY_FILE_ENV, tokens.KEY_SECRET_ENV, tokens.PUBLIC_KEYS_SECRET_ENV, "AUTH_PROVIDER"))
    os.environ[tokens.KEY_FILE_ENV] = str(key_file)
    os.environ.pop(tokens.KEY_SECRET_ENV, None)
    os.environ.pop(tokens.PUBLIC_KEYS_SECRET_ENV, None)
    os.environ["AUTH_PROVIDER"] = "builtin"
    tokens.reset_key_cache()
    try:
        token = tokens.issue_access_token(user_id=uuid.uuid4(), role="user", email="bench@example.org").token
        public = serialization.load_pem_private_key(key_file.read_bytes(), password=None).public_key()
        settings = tokens.TokenSettings.from_env()
        repeat = 300 if quick else 2000

        def raw() -> None:
            jwt.decode(token, public, algorithms=["ES256"], options={"verify_aud": False, "verify_iss": False})

        def ours() -> None:
            tokens.verify_access_token(token, settings)

        event = {
            "headers": {"Authorization": f"Bearer {token}"},
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/v1/GET/api/v1/me",
        }
        devnull = open(os.devnull, "w")  # noqa: SIM115 - the handler's log line must not flood the report

        def handler() -> None:
            import contextlib

            with contextlib.redirect_stdout(devnull):
                authorizer.handler(event, None)

        baseline = median_time(raw, repeat=repeat)
        verify = median_time(ours, repeat=repeat)
        invoke = median_time(handler, repeat=repeat)
        devnull.close()
    finally:
        restore_environ(saved)
        tokens.reset_key_cache()
    return [
        Result(
            SUITE,
            "verify_access_token (warm)",
            verify,
            "ms",
            "jwt.decode ES256, no claim checks",
            baseline,
            target_ratio=1.5,
            notes="signature + alg/kid/iss/aud/exp/iat checks; target also < 1 ms absolute",
            extra={"under_1_ms": verify < 1.0},
        ),
        Result(
            SUITE,
            "authorizer handler invocation (warm)",
            invoke,
            "ms",
            "jwt.decode ES256, no claim checks",
            baseline,
            notes="header parsing, verification, policy, one JSON log line",
            extra={"under_1_ms": invoke < 1.0},
        ),
    ]


def run(quick: bool = False) -> list[Result]:
    # `make bench` puts only the shared layer on the path; the authorizer lives in functions/auth.
    for path in PATHS:
        if path not in sys.path:
            sys.path.insert(0, path)
    return [*_cold_import(quick), *_warm_verification(quick)]
