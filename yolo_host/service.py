"""One photo → the image-dependent part of a /detect answer (blocking: the app runs it in a worker thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentrix.domain.classes import class_info
from sentrix.domain.risk import assess_risk
from sentrix.errors import InvalidImage
from sentrix.image_checks import ImageLimits, open_checked, why
from yolo_host.decode import Found, decode
from yolo_host.exif import location_and_camera
from yolo_host.letterbox import Letterbox, letterbox
from yolo_host.model import LoadedModel
from yolo_host.settings import HostSettings


@dataclass(frozen=True, slots=True)
class Prepared:
    """A photo ready for the model: its opened file (for EXIF), the input tensor and where the image sits in it."""

    opened: Any
    tensor: Any
    frame: Letterbox


@dataclass(frozen=True)
class Detector:
    """prepare → infer → finish: the app runs the two CPU-bound ends beside the model, so that while one photo is
    in `session.run` the next one is decoded (analyse() does all three in a row)."""

    model: LoadedModel
    settings: HostSettings

    @property
    def limits(self) -> ImageLimits:
        return ImageLimits(max_bytes=self.settings.max_bytes)

    def prepare(self, data: bytes) -> Prepared:
        """Checked, decoded once, letterboxed; InvalidImage when the bytes are not a photo it can read."""
        _, opened = open_checked(data, self.limits)
        try:
            tensor, frame = letterbox(opened, self.model.input_size)
        except Exception as exc:
            opened.close()
            raise InvalidImage(f"The image cannot be decoded ({why(exc)}).") from exc
        return Prepared(opened, tensor, frame)

    def infer(self, tensor: Any) -> tuple[Any, Any]:
        """The model's two outputs for a letterboxed input (what the benchmark compares against)."""
        output0, output1 = self.model.session.run(None, {self.model.input_name: tensor})
        return output0, output1

    def find(self, prepared: Prepared, outputs: tuple[Any, Any], confidence_threshold: float) -> list[Found]:
        """The detections in the model's outputs, in the sent image's pixels."""
        return decode(
            outputs[0],
            outputs[1],
            prepared.frame,
            self.model.input_size,
            num_classes=len(self.model.names),
            confidence_threshold=confidence_threshold,
            iou_threshold=self.settings.iou_threshold,
            max_detections=self.settings.max_detections,
            simplify_px=self.settings.simplify_px,
            max_points=self.settings.max_polygon_points,
        )

    def finish(
        self, prepared: Prepared, outputs: tuple[Any, Any], confidence_threshold: float, include_gps: bool
    ) -> dict[str, Any]:
        """detections, total_detections, risk_assessment, location, camera_info of the contract."""
        found = self.find(prepared, outputs, confidence_threshold)
        location = camera = None
        if include_gps:
            location, camera = location_and_camera(prepared.opened)
        prepared.opened.close()
        detections = [self.detection(f) for f in found]
        risk = assess_risk([d["class_name"] for d in detections], self.settings.language)
        return {
            "detections": detections,
            "total_detections": len(detections),
            "risk_assessment": risk.to_contract(),
            "location": location,
            "camera_info": camera,
        }

    def analyse(self, data: bytes, confidence_threshold: float, include_gps: bool) -> dict[str, Any]:
        """The image-dependent part of a /detect answer, in one call."""
        prepared = self.prepare(data)
        return self.finish(prepared, self.infer(prepared.tensor), confidence_threshold, include_gps)

    def detection(self, found: Found) -> dict[str, Any]:
        """One item of `detections[]`: the model's class name, our risk level and label for the class."""
        ours = class_info(found.class_id)
        return {
            "class_name": self.model.names[found.class_id],
            "class_id": found.class_id,
            "confidence": found.confidence,
            "risk_level": ours.risk_level.value,
            "breeding_site_type": ours.class_name,
            "polygon": found.polygon,
            "mask_area": found.mask_area,
        }
