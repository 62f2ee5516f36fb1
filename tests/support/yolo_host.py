"""Start the inference host (`python -m yolo_host`) in a subprocess on a free port, as a deployment would."""

from __future__ import annotations

from pathlib import Path

from yolo_standin.testing import ServedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
IMPORT_ROOTS = [REPO_ROOT, REPO_ROOT / "layers" / "shared", REPO_ROOT / "functions" / "detect"]


class HostProcess(ServedProcess):
    """The host with `YOLO_HOST_MODEL=model` plus `env`; ready once /health answers, stopped with SIGTERM."""

    module = "yolo_host"
    label = "yolo-host"
    ready_timeout_s = 60.0

    def __init__(self, model: str, env: dict[str, str] | None = None) -> None:
        """Prepare (not start) a host."""
        super().__init__({"YOLO_HOST_MODEL": model, **(env or {})})

    def import_roots(self) -> list[Path]:
        return IMPORT_ROOTS
