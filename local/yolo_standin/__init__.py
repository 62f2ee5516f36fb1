"""YOLO stand-in: a TEST DOUBLE of the external YOLO detection service — NOT the model.

It speaks the `/detect` and `/health` contract of DESIGN.md §5 exactly, but its detections are
synthetic: derived deterministically from the image's pixels, never from a neural network. It can
be told to be slow, fail, time out, rate-limit or answer garbage (see `yolo_standin.faults`).
Run it with `python -m yolo_standin --host 127.0.0.1 --port 8001`.
"""

__version__ = "1.0.0"
SERVICE_NAME = "yolo-standin"
MODEL_USED = "yolo-standin/test-double"
TEST_DOUBLE_HEADER = ("X-Test-Double", "yolo-standin")
