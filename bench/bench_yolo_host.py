"""The inference host (yolo_host/) per 12 MP photo against a bare `session.run` of the same model on the same
letterboxed tensor, and photos per second with 4 concurrent clients — all measured in the same run.

The host runs as an operator runs it (`python -m yolo_host`, uvicorn, one worker, CPU provider) and is called
over HTTP with the phone-sized JPEG, so its figure holds everything around the model: the upload, the checks,
one reduced decode, the letterbox, EXIF, NMS, masks and polygons, risk and the JSON answer. The model is not
the trained one (no weights here): eight 3×3 convolutions (four stride-2 steps) in front of planted YOLO-seg
outputs — 8,400 anchors, 8 confident detections with round masks — so the model costs what a real one of that
size does and the decoding does real work. Sizes: SIZES below.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import Result, median_time

TARGET_RATIO = 1.3
CLIENTS = 4
ANCHORS = 8400


def planted_outputs(seed: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """8 confident detections with disc masks among 8,400 weak anchors; 32 disc prototypes on 160×160."""
    from tests.support.yolo_models import NUM_MASKS

    rng = np.random.default_rng(seed)
    output0 = np.zeros((1, 4 + 4 + NUM_MASKS, ANCHORS), dtype=np.float32)
    output0[0, 0:2] = rng.uniform(20, 620, (2, ANCHORS))
    output0[0, 2:4] = rng.uniform(10, 120, (2, ANCHORS))
    output0[0, 4:8] = rng.uniform(0.0, 0.2, (4, ANCHORS))  # below any threshold detect sends
    yy, xx = np.mgrid[0:160, 0:160]
    protos = -np.ones((1, NUM_MASKS, 160, 160), dtype=np.float32)
    for index in range(8):
        cx, cy, r = rng.uniform(30, 130), rng.uniform(50, 110), rng.uniform(6, 20)
        protos[0, index] = np.where((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 < r * r, 1.0, -1.0)
        anchor = index * 1000
        output0[0, 0:4, anchor] = (cx * 4, cy * 4, r * 8.4, r * 8.4)  # the disc's box in model pixels
        output0[0, 4:8, anchor] = 0.0
        output0[0, 4 + index % 4, anchor] = 0.6 + 0.04 * index
        output0[0, 8:, anchor] = 0.0
        output0[0, 8 + index, anchor] = 1.0
    return output0, protos


# Two model costs, as 3×3 convolution stacks: ~42 GFLOPs at 640 (YOLOv8s-seg is 42.4, YOLO11s-seg 35.5) carries
# the target; ~10.6 GFLOPs (YOLOv8n-seg is 12.6) is reported beside it, where the one JPEG decode weighs more.
SIZES = (
    ("s-sized model (~42 GFLOPs)", (64, 128, 256, 512), TARGET_RATIO),
    ("n-sized model (~11 GFLOPs)", (32, 64, 128, 256), None),
)


def _measure(model_path: Path, photo: bytes, repeat: int, per_client: int | None) -> dict[str, float]:
    """Bare session.run on the letterboxed tensor, then the host over HTTP (and, if asked, 4 clients at once)."""
    import io

    import httpx
    import onnxruntime as ort
    from PIL import Image

    from tests.support.yolo_host import HostProcess
    from yolo_host.letterbox import letterbox

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    tensor, _ = letterbox(Image.open(io.BytesIO(photo)), (640, 640))
    bare_ms = median_time(lambda: session.run(None, {"images": tensor}), repeat=repeat, warmup=2)
    session = None  # released: the host gets the cores to itself
    figures = {"bare_ms": bare_ms}
    with HostProcess(str(model_path), {"YOLO_HOST_PROVIDER": "cpu"}) as host, httpx.Client(timeout=300) as client:

        def post() -> dict[str, Any]:
            response = client.post(
                f"{host.base_url}/detect",
                files={"file": ("photo.jpg", photo, "image/jpeg")},
                data={"confidence_threshold": "0.5", "include_gps": "true"},
            )
            if response.status_code != 200:
                raise AssertionError(f"host answered {response.status_code}: {response.text[:200]}")
            return response.json()

        answer = post()
        if answer["total_detections"] != 8:
            raise AssertionError(f"expected the 8 planted detections, got {answer['total_detections']}")
        figures["host_ms"] = median_time(post, repeat=repeat, warmup=1)
        if per_client is None:
            return figures
        latencies: list[float] = []
        errors: list[BaseException] = []

        def client_loop() -> None:
            try:
                for _ in range(per_client):
                    started = time.perf_counter()
                    post()
                    latencies.append((time.perf_counter() - started) * 1000)
            except BaseException as exc:  # reported after the threads join
                errors.append(exc)

        threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise errors[0]
        figures["photos_per_s"] = CLIENTS * per_client / elapsed
        figures["median_latency_ms"] = statistics.median(latencies)
    return figures


def run(quick: bool) -> list[Result]:
    from bench.bench_detect import photo_like
    from tests.support.yolo_models import conv_model

    repeat = 5 if quick else 11
    per_client = 3 if quick else 6
    photo = photo_like(4000, 3000, "JPEG")
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for index, (label, channels, target) in enumerate(SIZES):
            model_path = Path(workdir) / f"bench-seg-{index}.onnx"
            model_path.write_bytes(conv_model(*planted_outputs(), channels=channels))
            figures = _measure(model_path, photo, repeat, per_client if index == 0 else None)
            results.append(
                Result(
                    suite="yolo_host",
                    name=f"host per 12 MP JPEG over HTTP, {label}",
                    value=figures["host_ms"],
                    unit="ms",
                    baseline_name="bare session.run, same model and letterboxed tensor",
                    baseline_value=figures["bare_ms"],
                    target_ratio=target,
                    notes="uvicorn, 1 worker, CPU provider; 8 detections with round masks",
                )
            )
            if "photos_per_s" in figures:
                results.append(
                    Result(
                        suite="yolo_host",
                        name=f"photos per second, {CLIENTS} concurrent clients, {label}",
                        value=figures["photos_per_s"],
                        unit="photos/s",
                        baseline_name="bare session.run rate (1000 / its ms)",
                        baseline_value=1000 / figures["bare_ms"],
                        notes=f"{CLIENTS} × {per_client} photos, median latency "
                        f"{figures['median_latency_ms']:.0f} ms, no 429 (queue 8)",
                        extra={"median_latency_ms": figures["median_latency_ms"], "photos": CLIENTS * per_client},
                    )
                )
    return results
