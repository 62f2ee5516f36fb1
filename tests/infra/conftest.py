"""The SAM template, the local-invoke files and the test doubles of tests/infra."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"
# The migrate function's package (pyproject's pythonpath lists the four main functions only).
if str(REPO_ROOT / "functions" / "migrate") not in sys.path:
    sys.path.append(str(REPO_ROOT / "functions" / "migrate"))

from sentrix_local.template import load_template  # noqa: E402 - one CloudFormation YAML loader
from tests.infra.cfn_endpoint import ResponseEndpoint  # noqa: E402


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


@pytest.fixture
def cfn_endpoint() -> Iterator[ResponseEndpoint]:
    """CloudFormation's response URL, as a local HTTP server recording what the deploy hook PUTs."""
    endpoint = ResponseEndpoint().start()
    yield endpoint
    endpoint.stop()
