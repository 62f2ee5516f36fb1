"""The model, loaded once at start: bytes from a path or S3, class names checked against our class table,
an ONNX Runtime session on the execution provider the settings ask for (CPU when CUDA is missing)."""

from __future__ import annotations

import ast
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from sentrix.domain.classes import class_info, normalize_class_name

log = logging.getLogger("yolo_host")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


class ModelRefused(RuntimeError):
    """The model cannot be served: unreadable, not a YOLO-seg export, or its classes are not ours."""


@dataclass(frozen=True)
class LoadedModel:
    session: Any
    names: dict[int, str]
    source: str
    file_name: str
    sha256: str
    provider: str
    input_name: str
    input_size: tuple[int, int]  # (height, width) of the letterboxed input
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str | None:
        """The exporter's version and date (ultralytics writes both into the metadata)."""
        parts = [self.metadata.get("version"), self.metadata.get("date")]
        return " ".join(p for p in parts if p) or None


def read_model_bytes(source: str, s3_client: Any = None) -> bytes:
    """The model file from a local path or an s3://bucket/key URI."""
    if source.startswith("s3://"):
        parsed = urlparse(source)
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        if not bucket or not key:
            raise ModelRefused(f"model URI {source!r} must be s3://bucket/key")
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        try:
            return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise ModelRefused(f"cannot read the model from {source}: {exc}") from exc
    try:
        with open(source, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ModelRefused(f"cannot read the model file {source}: {exc.strerror or exc}") from exc


def parse_names(text: str | None) -> dict[int, str]:
    """Ultralytics' `names` metadata ("{0: 'Basura', 1: 'Calles mal hechas', ...}") as a dict."""
    if not text:
        raise ModelRefused("the model has no `names` metadata: export it with ultralytics (yolo export format=onnx)")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise ModelRefused(f"the model's `names` metadata is not a literal dict: {text[:200]!r}") from exc
    if not isinstance(value, dict) or not all(isinstance(k, int) and isinstance(v, str) for k, v in value.items()):
        raise ModelRefused(f"the model's `names` metadata is not a dict of class id to name: {text[:200]!r}")
    return dict(sorted(value.items()))


def check_names(names: dict[int, str], expected_ids: range = range(4)) -> None:
    """Refuse a model whose classes differ from our table (sentrix.domain.classes): ids and names."""
    problems = []
    if sorted(names) != list(expected_ids):
        problems.append(f"class ids {sorted(names)} (expected {list(expected_ids)})")
    for class_id in expected_ids:
        ours = class_info(class_id)
        theirs = names.get(class_id)
        if theirs is not None and normalize_class_name(theirs) != ours.breeding_site_type:
            problems.append(f"class {class_id} is {theirs!r} (expected {ours.class_name!r})")
    if problems:
        ours_text = ", ".join(f"{i}: {class_info(i).class_name!r}" for i in expected_ids)
        raise ModelRefused(
            "the model's classes do not match the class table: " + "; ".join(problems) + f". Ours: {{{ours_text}}}"
        )


def choose_providers(wanted: str, available: list[str]) -> list[str]:
    """ONNX Runtime providers in order of preference for the `provider` setting."""
    if wanted in ("auto", "cuda") and CUDA in available:
        return [CUDA, CPU]
    if wanted == "cuda":
        log.warning("CUDA execution provider requested but not available (%s): falling back to CPU", available)
    return [CPU]


def _check_layout(session: Any, names: dict[int, str]) -> tuple[str, tuple[int, int]]:
    """The input's name and size; refuses a model without the YOLO-seg outputs for these classes."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) != 2:
        raise ModelRefused(
            f"expected one input and two outputs (YOLO segmentation), got {len(inputs)} and {len(outputs)}"
        )
    shape = inputs[0].shape
    if len(shape) != 4 or not all(isinstance(s, int) for s in shape[2:]):
        raise ModelRefused(f"the input must be (1, 3, height, width) with a fixed size, not {shape}")
    boxes, protos = outputs[0].shape, outputs[1].shape
    masks = protos[1] if len(protos) == 4 and isinstance(protos[1], int) else None
    if masks is None or len(boxes) != 3 or boxes[1] != 4 + len(names) + masks:
        raise ModelRefused(
            f"outputs {boxes} and {protos} are not the YOLO-seg layout for {len(names)} classes: "
            "(1, 4 + classes + masks, anchors) and (1, masks, mask height, mask width)"
        )
    return inputs[0].name, (int(shape[2]), int(shape[3]))


def load_model(source: str, *, provider: str = "auto", intra_op_threads: int = 0, s3_client: Any = None) -> LoadedModel:
    """Read, check and open the model once; ModelRefused with a clear reason when it cannot be served."""
    import onnxruntime as ort

    data = read_model_bytes(source, s3_client)
    available = ort.get_available_providers()
    if provider != "cpu" and CUDA in available and hasattr(ort, "preload_dlls"):
        # onnxruntime-gpu installed with its [cuda,cudnn] wheels finds their libraries only once preloaded.
        try:
            ort.preload_dlls()
        except Exception as exc:
            log.warning("could not preload the CUDA libraries: %s", exc)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    # ONNX Runtime's threads spin for a while after each run; the decoding that follows needs those cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=choose_providers(provider, available))
    except Exception as exc:
        raise ModelRefused(f"ONNX Runtime cannot load the model from {source}: {exc}") from exc
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    names = parse_names(metadata.get("names"))
    check_names(names)
    input_name, input_size = _check_layout(session, names)
    return LoadedModel(
        session=session,
        names=names,
        source=source,
        file_name=PurePosixPath(urlparse(source).path if source.startswith("s3://") else source).name,
        sha256=hashlib.sha256(data).hexdigest(),
        # What ONNX Runtime actually uses: a CUDA provider that fails to initialise drops to CPU by itself.
        provider=session.get_providers()[0],
        input_name=input_name,
        input_size=input_size,
        metadata=metadata,
    )
