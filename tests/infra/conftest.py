"""The SAM template and the local-invoke files, parsed once for the template-invariant tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"

from sentrix_local.template import load_template  # noqa: E402 - one CloudFormation YAML loader


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """infra/template.yaml as parsed once; tests that change it work on a deep copy."""
    return load_template()


@pytest.fixture(scope="session")
def env_json() -> dict[str, Any]:
    """env.json, the per-function environment for `sam local invoke`."""
    return json.loads((REPO_ROOT / "env.json").read_text(encoding="utf-8"))
