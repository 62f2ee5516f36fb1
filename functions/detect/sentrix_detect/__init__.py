"""Detect function: S3 → SQS → YOLO → PostGIS."""
