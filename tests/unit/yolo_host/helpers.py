"""A Detector on a planted model, and photos of a given size, for the host's unit tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.yolo_models import planted_model


def png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def detector(tmp_path: Path, output0: np.ndarray, output1: np.ndarray, **settings: Any) -> Any:
    """The host's Detector over a model file whose outputs are planted."""
    from yolo_host.model import load_model
    from yolo_host.service import Detector
    from yolo_host.settings import HostSettings

    path = tmp_path / "planted.onnx"
    path.write_bytes(planted_model(output0, output1))
    return Detector(load_model(str(path), provider="cpu"), HostSettings(model=str(path), **settings))


def ring(polygon: list[list[float]]) -> set[tuple[float, float]]:
    return {(x, y) for x, y in polygon}
