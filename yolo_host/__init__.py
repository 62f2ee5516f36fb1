"""Our own YOLO inference host: the detection contract (docs/detect.md) served from an ONNX export of the
trained segmentation weights with ONNX Runtime. This is what an operator deploys (yolo_host/README.md)."""

__version__ = "1.0.0"
SERVICE_NAME = "yolo-host"
