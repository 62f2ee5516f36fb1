"""A YOLO host that answers every POST /detect with a planted body, over real HTTP (stdlib server, own thread).

For answers the stand-in does not make: the original service's units (mask_area in its model's ~640 px mask
grid) and real masks' sizes (rings of thousands of points with repeated vertices, hundreds of detections).
The answer is serialised once; the image sent is read and thrown away.
"""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class PlantedYolo:
    """`with PlantedYolo(body) as host:` then aim the YOLO client at `host.base_url`; `host.calls` counts /detect."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.payload = json.dumps(body).encode()
        self.calls = 0
        planted = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer(200, b'{"status": "healthy", "model_loaded": true}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path.rstrip("/") != "/detect":
                    self._answer(404, b'{"detail": "Not Found"}')
                    return
                planted.calls += 1
                self._answer(200, planted.payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PlantedYolo:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def answer(detections: list[dict[str, Any]], model: str = "planted-seg") -> dict[str, Any]:
    """A 200 body of the contract (docs/detect.md) around `detections`."""
    return {
        "detections": detections,
        "risk_assessment": {"level": "BAJO", "total_detections": len(detections)},
        "location": None,
        "camera_info": None,
        "processing_time_ms": 12.0,
        "model_used": model,
        "confidence_threshold": 0.5,
        "processed_image": None,
    }


def detection(class_id: int, confidence: float, polygon: list[list[float]], mask_area: float) -> dict[str, Any]:
    return {
        "class_id": class_id,
        "class_name": "planted",
        "confidence": confidence,
        "polygon": polygon,
        "mask_area": mask_area,
    }


def fragmented_mask(
    centre: tuple[float, float], radius: float, *, points: int, fragments: int, repeat_every: int = 2
) -> list[list[float]]:
    """One ring like a real mask's contour: a `points`-point wavy circle that pinches itself shut at
    `fragments` places (so made valid it falls apart), every `repeat_every`-th point repeated."""
    cx, cy = centre
    ring: list[list[float]] = []
    for k in range(points):
        angle = 2 * math.pi * k / points
        # Down to the centre `fragments` times: the ring touches itself there, cutting the shape into lobes.
        lobe = abs(math.sin(fragments * angle / 2))
        r = radius * lobe * (1 + 0.05 * math.sin(37 * angle))
        point = [round(cx + r * math.cos(angle), 3), round(cy + r * math.sin(angle), 3)]
        ring.append(point)
        if k % repeat_every == 0:
            ring.append(list(point))
    return ring
