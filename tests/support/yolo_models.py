"""Tiny ONNX models in the YOLOv8/11 segmentation layout, built with the `onnx` helpers (no ultralytics, no
weights): `planted_model` answers fixed outputs whatever the input; `conv_model` adds convolution layers of
a realistic cost in front of planted outputs (the benchmark's model)."""

from __future__ import annotations

from typing import Any

import numpy as np

CLASS_NAMES = {0: "Basura", 1: "Calles mal hechas", 2: "Charcos/Cumulo de agua", 3: "Huecos"}
NUM_MASKS = 32


def names_text(names: dict[int, str]) -> str:
    """The `names` metadata as ultralytics writes it: str() of a dict."""
    return str(names)


def _finish(graph: Any, metadata: dict[str, str]) -> bytes:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sentrix-tests")
    model.ir_version = 8
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model.SerializeToString()


def default_metadata(names: dict[int, str] | None) -> dict[str, str]:
    metadata = {"version": "8.3.0-test", "date": "2026-12-02", "task": "segment", "imgsz": "[640, 640]"}
    if names is not None:
        metadata["names"] = names_text(names)
    return metadata


def planted_model(
    output0: np.ndarray,
    output1: np.ndarray,
    names: dict[int, str] | None = CLASS_NAMES,
    input_size: tuple[int, int] = (640, 640),
    metadata: dict[str, str] | None = None,
) -> bytes:
    """A model whose outputs are `output0` (1, 4+nc+32, A) and `output1` (1, 32, mh, mw) for any input."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Constant", [], ["output0"], value=numpy_helper.from_array(output0.astype(np.float32))),
        helper.make_node("Constant", [], ["output1"], value=numpy_helper.from_array(output1.astype(np.float32))),
    ]
    graph = helper.make_graph(
        nodes,
        "planted-yolo-seg",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, *input_size])],
        [
            helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output0.shape)),
            helper.make_tensor_value_info("output1", TensorProto.FLOAT, list(output1.shape)),
        ],
    )
    return _finish(graph, metadata if metadata is not None else default_metadata(names))


def anchors(rows: list[dict[str, Any]], num_classes: int = 4, count: int | None = None) -> np.ndarray:
    """output0 from planted anchors: each {"box": (cx, cy, w, h), "scores": {class: score}, "coeffs": {i: c}}."""
    count = count or len(rows)
    out = np.zeros((1, 4 + num_classes + NUM_MASKS, count), dtype=np.float32)
    for index, row in enumerate(rows):
        out[0, 0:4, index] = row["box"]
        for class_id, score in row.get("scores", {}).items():
            out[0, 4 + class_id, index] = score
        for mask_index, value in row.get("coeffs", {}).items():
            out[0, 4 + num_classes + mask_index, index] = value
    return out


def rectangle_protos(rects: dict[int, tuple[int, int, int, int]], size: tuple[int, int] = (160, 160)) -> np.ndarray:
    """output1 where prototype i is +1 inside its rectangle (x0, y0, x1, y1 in proto cells, end excluded), -1 out."""
    protos = -np.ones((1, NUM_MASKS, *size), dtype=np.float32)
    for index, (x0, y0, x1, y1) in rects.items():
        protos[0, index, y0:y1, x0:x1] = 1.0
    return protos


def conv_model(
    output0: np.ndarray,
    output1: np.ndarray,
    *,
    channels: tuple[int, ...] = (16, 32, 64, 128),
    names: dict[int, str] = CLASS_NAMES,
    seed: int = 7,
) -> bytes:
    """Stride-2 3×3 convolutions (640 → 320 → 160 → 80 → 40) and 3×3 convolutions at each scale, whose result
    is multiplied by zero and added to the planted outputs: the cost of a small backbone, known answers."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    previous, width = "images", 3
    for level, out_channels in enumerate(channels):
        for step, stride in enumerate((2, 1)):
            name = f"conv{level}_{step}"
            weight = (rng.standard_normal((out_channels, width, 3, 3)) * 0.1).astype(np.float32)
            inits.append(numpy_helper.from_array(weight, f"{name}.w"))
            inits.append(numpy_helper.from_array(np.zeros(out_channels, np.float32), f"{name}.b"))
            nodes.append(
                helper.make_node(
                    "Conv",
                    [previous, f"{name}.w", f"{name}.b"],
                    [f"{name}.y"],
                    kernel_shape=[3, 3],
                    strides=[stride, stride],
                    pads=[1, 1, 1, 1],
                )
            )
            nodes.append(helper.make_node("Relu", [f"{name}.y"], [f"{name}.r"]))
            previous, width = f"{name}.r", out_channels
    # One scalar from the features, times zero: the outputs depend on the convolutions, their values do not.
    nodes.append(helper.make_node("ReduceMean", [previous], ["feature_mean"], keepdims=0))
    inits.append(numpy_helper.from_array(np.zeros((), np.float32), "zero"))
    nodes.append(helper.make_node("Mul", ["feature_mean", "zero"], ["nothing"]))
    for name, value in (("output0", output0), ("output1", output1)):
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}.planted"))
        nodes.append(helper.make_node("Add", [f"{name}.planted", "nothing"], [name]))
    graph = helper.make_graph(
        nodes,
        "conv-yolo-seg",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [
            helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output0.shape)),
            helper.make_tensor_value_info("output1", TensorProto.FLOAT, list(output1.shape)),
        ],
        initializer=inits,
    )
    return _finish(graph, default_metadata(names))
