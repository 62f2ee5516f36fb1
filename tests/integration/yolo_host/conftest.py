"""The inference host as a real process over HTTP, on a planted model written to a temporary file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.yolo_host import HostProcess
from tests.support.yolo_models import anchors, planted_model, rectangle_protos

# Three planted anchors on a 1280×960 photo (gain 0.5, 80 rows of padding): Charcos at sent x 440–840,
# y 380–580; a Basura at sent 100–300 × 0–20 (cut at the image's top edge); a Huecos below the threshold.
PLANTED = anchors(
    [
        {"box": (320.0, 320.0, 200.0, 100.0), "scores": {2: 0.9}, "coeffs": {0: 1.0}},
        {"box": (100.0, 60.0, 100.0, 60.0), "scores": {0: 0.6}, "coeffs": {0: 1.0}},
        {"box": (500.0, 400.0, 50.0, 50.0), "scores": {3: 0.3}, "coeffs": {0: 1.0}},
    ]
)
PROTOS = rectangle_protos({0: (0, 0, 160, 160)})


@pytest.fixture(scope="session")
def planted_model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("yolo-host") / "best.onnx"
    path.write_bytes(planted_model(PLANTED, PROTOS))
    return path


@pytest.fixture(scope="session")
def yolo_host(planted_model_file) -> Iterator[HostProcess]:
    """`python -m yolo_host` on a free port, serving the planted model."""
    with HostProcess(str(planted_model_file)) as host:
        yield host
