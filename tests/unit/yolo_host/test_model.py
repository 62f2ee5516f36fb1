"""The model is loaded once and refused with a clear reason when it is not ours: classes, layout, file."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tests.support.yolo_models import CLASS_NAMES, anchors, default_metadata, planted_model, rectangle_protos

OUTPUTS = (anchors([{"box": (320.0, 320.0, 10.0, 10.0)}]), rectangle_protos({}))


def write(tmp_path, data: bytes):
    path = tmp_path / "best.onnx"
    path.write_bytes(data)
    return path


def test_a_model_with_our_classes_loads_with_its_hash_and_provider(tmp_path):
    from yolo_host.model import load_model

    data = planted_model(*OUTPUTS)
    model = load_model(str(write(tmp_path, data)), provider="cpu")

    assert model.names == CLASS_NAMES
    assert model.sha256 == hashlib.sha256(data).hexdigest()
    assert model.provider == "CPUExecutionProvider"
    assert model.file_name == "best.onnx"
    assert model.input_size == (640, 640)
    assert model.version == "8.3.0-test 2026-12-02"


def test_names_spelled_differently_but_meaning_our_classes_are_accepted(tmp_path):
    from yolo_host.model import load_model

    names = {0: "basura", 1: "Calles mal hechas", 2: "Charcos/Cúmulo de agua", 3: "HUECOS"}
    model = load_model(str(write(tmp_path, planted_model(*OUTPUTS, names=names))), provider="cpu")

    assert model.names == names


@pytest.mark.parametrize(
    ("names", "reason"),
    [
        ({0: "Basura", 1: "Huecos", 2: "Charcos/Cumulo de agua", 3: "Calles mal hechas"}, "class 1 is 'Huecos'"),
        ({0: "person", 1: "bicycle", 2: "car", 3: "motorcycle"}, "class 0 is 'person' (expected 'Basura')"),
        ({**CLASS_NAMES, 4: "Llantas"}, "class ids [0, 1, 2, 3, 4] (expected [0, 1, 2, 3])"),
    ],
)
def test_a_model_whose_classes_differ_from_the_table_is_refused(tmp_path, names, reason):
    from yolo_host.model import ModelRefused, load_model

    output0 = np.zeros((1, 4 + len(names) + 32, 1), dtype=np.float32)
    path = write(tmp_path, planted_model(output0, OUTPUTS[1], names=names))

    with pytest.raises(ModelRefused, match="do not match the class table") as refused:
        load_model(str(path), provider="cpu")
    assert reason in str(refused.value)


def test_a_model_without_names_is_refused(tmp_path):
    from yolo_host.model import ModelRefused, load_model

    path = write(tmp_path, planted_model(*OUTPUTS, metadata=default_metadata(None)))

    with pytest.raises(ModelRefused, match="no `names` metadata"):
        load_model(str(path), provider="cpu")


def test_a_model_without_the_segmentation_layout_is_refused(tmp_path):
    from yolo_host.model import ModelRefused, load_model

    # 4 + 4 classes + 16 coefficients, but 32 prototypes
    path = write(tmp_path, planted_model(np.zeros((1, 24, 5), dtype=np.float32), OUTPUTS[1]))

    with pytest.raises(ModelRefused, match="not the YOLO-seg layout for 4 classes"):
        load_model(str(path), provider="cpu")


def test_a_missing_file_and_garbage_are_refused(tmp_path):
    from yolo_host.model import ModelRefused, load_model

    with pytest.raises(ModelRefused, match="cannot read the model file"):
        load_model(str(tmp_path / "absent.onnx"))
    with pytest.raises(ModelRefused, match="ONNX Runtime cannot load"):
        load_model(str(write(tmp_path, b"not a model")))


@pytest.mark.parametrize(
    ("wanted", "available", "chosen"),
    [
        ("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        ("auto", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("cuda", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]),
    ],
)
def test_the_execution_provider_follows_the_setting_and_falls_back_to_cpu(wanted, available, chosen):
    from yolo_host.model import choose_providers

    assert choose_providers(wanted, available) == chosen
