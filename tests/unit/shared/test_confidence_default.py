"""One default confidence threshold: the settings default, the upload default, the docs and YOLO's contract."""

from __future__ import annotations

import re
from pathlib import Path

from sentrix.domain.confidence import DEFAULT_CONFIDENCE_THRESHOLD

ROOT = Path(__file__).resolve().parents[3]


def test_the_default_is_the_yolo_contracts():
    # DESIGN §5: confidence_threshold 0.1-1.0, default 0.5
    assert DEFAULT_CONFIDENCE_THRESHOLD == 0.5


def test_the_user_settings_default_is_the_shared_default():
    from sentrix_auth.logic.settings import DEFAULTS, SettingsDocument

    assert SettingsDocument().default_confidence_threshold == DEFAULT_CONFIDENCE_THRESHOLD
    assert DEFAULTS["default_confidence_threshold"] == 0.5


def test_the_upload_default_is_the_shared_default(monkeypatch):
    from sentrix_upload.settings import UploadSettings

    monkeypatch.delenv("UPLOAD_DEFAULT_CONFIDENCE_THRESHOLD", raising=False)

    assert UploadSettings().default_confidence_threshold == DEFAULT_CONFIDENCE_THRESHOLD


def test_the_stand_in_answers_with_the_same_default():
    import inspect

    from yolo_standin.app import FaultConfig, create_app

    app = create_app(FaultConfig(), max_bytes=1024)
    (detect,) = [route.endpoint for route in app.routes if getattr(route, "path", None) == "/detect"]
    default = inspect.signature(detect).parameters["confidence_threshold"].default
    assert default == DEFAULT_CONFIDENCE_THRESHOLD


def test_the_docs_state_the_same_default():
    upload = (ROOT / "docs" / "upload.md").read_text(encoding="utf-8")
    detect = (ROOT / "docs" / "detect.md").read_text(encoding="utf-8")

    # Each doc names the default, and names no other value for it
    stated = re.findall(r"default confidence threshold is \**(\d\.\d+)", upload + detect, flags=re.IGNORECASE)
    assert stated == [str(DEFAULT_CONFIDENCE_THRESHOLD)] * 2
    assert f"default_confidence_threshold` setting, else {DEFAULT_CONFIDENCE_THRESHOLD}" in upload
