"""The host's configuration, read once from `YOLO_HOST_*` environment variables (yolo_host/README.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HostSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YOLO_HOST_", extra="ignore", frozen=True)

    # A file path or s3://bucket/key (read with boto3: AWS_ENDPOINT_URL and the usual credential chain apply).
    model: str = Field(min_length=1)
    # auto: CUDA when ONNX Runtime offers it, else CPU; cuda: CUDA wanted, CPU (with a warning) when missing.
    provider: Literal["auto", "cuda", "cpu"] = "auto"
    iou_threshold: float = Field(default=0.7, gt=0.0, le=1.0)  # ultralytics' own default
    max_detections: int = Field(default=300, ge=1, le=10_000)
    # Inferences at once, and requests that may wait for one; beyond both: 429 with Retry-After.
    workers: int = Field(default=1, ge=1, le=64)
    queue_size: int = Field(default=8, ge=0, le=10_000)
    retry_after_s: int = Field(default=2, ge=1, le=600)
    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    intra_op_threads: int = Field(default=0, ge=0, le=256)  # 0: ONNX Runtime picks (one per core)
    # Polygon bounds (issue 17 point 1): simplification tolerance in model-grid pixels, then a vertex cap.
    simplify_px: float = Field(default=1.0, ge=0.0, le=16.0)
    max_polygon_points: int = Field(default=1000, ge=4, le=100_000)
    language: Literal["es", "en", "pt"] = "es"  # of the recommendations in risk_assessment
