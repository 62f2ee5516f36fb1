"""Run the YOLO stand-in (a TEST DOUBLE, not the model): `python -m yolo_standin --port 8001`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

import uvicorn

from yolo_standin.app import create_app

# In-flight requests get this long after SIGTERM/SIGINT before uvicorn cancels them.
GRACEFUL_SHUTDOWN_S = 5


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the app from the environment and serve until signalled."""
    parser = argparse.ArgumentParser(
        prog="python -m yolo_standin",
        description="YOLO stand-in: a TEST DOUBLE of the YOLO detection service (synthetic detections).",
        epilog="Env: YOLO_STANDIN_FAULTS (JSON fault config), YOLO_STANDIN_MAX_BYTES (upload cap), "
        "YOLO_STANDIN_PROFILE (default|original), YOLO_STANDIN_RATE_LIMIT (per IP and window; 0 = off), "
        "YOLO_STANDIN_RATE_WINDOW_S (60), YOLO_STANDIN_CLOCK (real|manual).",
    )
    parser.add_argument("--host", default=os.environ.get("YOLO_STANDIN_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("YOLO_STANDIN_PORT", "8001")))
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    try:
        app = create_app()
    except (ValueError, json.JSONDecodeError) as exc:
        print(f"yolo-standin: bad configuration: {exc}", file=sys.stderr)
        return 2
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    )
    # Injected stalls poll this, so a stop does not wait for them.
    app.state.stopping = lambda: server.should_exit
    # uvicorn handles SIGTERM/SIGINT with a graceful shutdown, then restores the previous handlers
    # and re-raises the signal; these no-op handlers turn that into a plain exit status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
