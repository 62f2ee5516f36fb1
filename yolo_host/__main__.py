"""Run the inference host: `python -m yolo_host --port 8080` (settings: YOLO_HOST_* variables, README.md)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn
from pydantic import ValidationError

from yolo_host.app import create_app
from yolo_host.model import ModelRefused, load_model
from yolo_host.service import Detector
from yolo_host.settings import HostSettings

GRACEFUL_SHUTDOWN_S = 10


def main(argv: list[str] | None = None) -> int:
    """Load the model once (refusing to start when it cannot be served), then serve until signalled."""
    parser = argparse.ArgumentParser(prog="python -m yolo_host", description="Sentrix YOLO inference host")
    parser.add_argument("--host", default=os.environ.get("YOLO_HOST_BIND", "0.0.0.0"))  # noqa: S104 - a container
    parser.add_argument("--port", type=int, default=int(os.environ.get("YOLO_HOST_PORT", "8080")))
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = HostSettings()
        model = load_model(settings.model, provider=settings.provider, intra_op_threads=settings.intra_op_threads)
    except ValidationError as exc:
        print(f"yolo-host: bad configuration: {exc}", file=sys.stderr)
        return 2
    except ModelRefused as exc:
        print(f"yolo-host: refusing to start: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("yolo_host").info(
        "model %s sha256 %s on %s, classes %s", model.file_name, model.sha256, model.provider, model.names
    )
    app = create_app(Detector(model, settings))
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
