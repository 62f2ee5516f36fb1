"""The default confidence threshold: one value for the settings, the upload options, the docs and YOLO."""

from __future__ import annotations

# The YOLO contract's own default (DESIGN §5); a user's `default_confidence_threshold` overrides it.
DEFAULT_CONFIDENCE_THRESHOLD = 0.5
