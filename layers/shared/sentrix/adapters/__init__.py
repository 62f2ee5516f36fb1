"""Adapters to the outside world (S3, SQS, YOLO): small interfaces, one cached real implementation each."""
