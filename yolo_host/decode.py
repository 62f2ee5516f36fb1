"""YOLOv8/11 segmentation outputs → detections in the sent image's pixels.

output0 (1, 4 + nc + nm, anchors): per anchor cx, cy, w, h (model pixels), nc class scores, nm mask
coefficients; output1 (1, nm, mh, mw): mask prototypes. As ultralytics does it: the best class per anchor,
the confidence filter, class-aware NMS, then each kept box's mask = coefficients · prototypes, upsampled
bilinearly (align_corners=False) to the model's input, cropped to the box, > 0 (sigmoid > 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo_host.letterbox import Letterbox
from yolo_host.outline import mask_outline

MAX_NMS_CANDIDATES = 30_000  # ultralytics' max_nms


@dataclass(frozen=True, slots=True)
class Found:
    class_id: int
    confidence: float
    polygon: list[list[float]]  # sent-image pixels
    mask_area: float  # sent-image pixels
    mask_pixels: int  # pixels of the mask in the model's input grid


def iou_one_to_many(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one x1y1x2y2 box with each of `others`."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float, limit: int) -> np.ndarray:
    """Indices kept by greedy, class-aware non-maximum suppression, best first (at most `limit`)."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < limit:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        same_class = classes[rest] == classes[best]
        overlaps = iou_one_to_many(boxes[best], boxes[rest]) > iou_threshold
        order = rest[~(same_class & overlaps)]
    return np.asarray(keep, dtype=np.int64)


def _bilinear_weights(size_out: int, size_in: int, start: int, stop: int) -> np.ndarray:
    """Rows start..stop-1 of the (size_out × size_in) matrix of PyTorch's bilinear resize, align_corners=False."""
    dst = np.arange(start, stop, dtype=np.float64)
    src = np.clip((dst + 0.5) * (size_in / size_out) - 0.5, 0.0, None)
    low = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = src - low
    weights = np.zeros((stop - start, size_in), dtype=np.float32)
    rows = np.arange(stop - start)
    np.add.at(weights, (rows, low), (1.0 - frac).astype(np.float32))
    np.add.at(weights, (rows, high), frac.astype(np.float32))
    return weights


def crop_window(box: np.ndarray, box_frame: Letterbox) -> tuple[int, int, int, int]:
    """Model pixels (row0, row1, col0, col1) a box's mask may cover: pixel i is in when x1 ≤ i < x2, in the image."""
    left, top = box_frame.pad_x, box_frame.pad_y
    right, bottom = left + box_frame.scaled_width, top + box_frame.scaled_height
    col0 = max(int(np.ceil(box[0])), left)
    col1 = min(int(np.ceil(box[2])), right)
    row0 = max(int(np.ceil(box[1])), top)
    row1 = min(int(np.ceil(box[3])), bottom)
    return row0, max(row1, row0), col0, max(col1, col0)


def box_mask(
    coefficients: np.ndarray, protos: np.ndarray, window: tuple[int, int, int, int], input_size: tuple[int, int]
) -> np.ndarray:
    """The boolean mask of one detection over its crop window (rows × cols of model pixels)."""
    row0, row1, col0, col1 = window
    masks, proto_h, proto_w = protos.shape
    rows = _bilinear_weights(input_size[0], proto_h, row0, row1)
    cols = _bilinear_weights(input_size[1], proto_w, col0, col1)
    # Only the prototype cells the window's pixels interpolate from: the cost follows the box, not the grid.
    used_rows, used_cols = np.flatnonzero(rows.any(axis=0)), np.flatnonzero(cols.any(axis=0))
    if used_rows.size == 0 or used_cols.size == 0:
        return np.zeros((row1 - row0, col1 - col0), dtype=bool)
    r0, r1, c0, c1 = used_rows[0], used_rows[-1] + 1, used_cols[0], used_cols[-1] + 1
    window_protos = protos[:, r0:r1, c0:c1]
    logits = (coefficients @ window_protos.reshape(masks, -1)).reshape(r1 - r0, c1 - c0)
    return (rows[:, r0:r1] @ logits @ cols[:, c0:c1].T) > 0.0


def decode(
    output0: np.ndarray,
    output1: np.ndarray,
    frame: Letterbox,
    input_size: tuple[int, int],
    *,
    num_classes: int,
    confidence_threshold: float,
    iou_threshold: float,
    max_detections: int,
    simplify_px: float,
    max_points: int,
) -> list[Found]:
    """Every detection at or above the threshold that has a mask, best first."""
    prediction = output0[0].T  # (anchors, 4 + nc + nm)
    scores = prediction[:, 4 : 4 + num_classes]
    classes = scores.argmax(axis=1)
    confidences = scores[np.arange(scores.shape[0]), classes]
    candidates = np.flatnonzero(confidences >= confidence_threshold)
    if candidates.size > MAX_NMS_CANDIDATES:
        candidates = candidates[np.argsort(-confidences[candidates], kind="stable")[:MAX_NMS_CANDIDATES]]
    centre, size = prediction[candidates, 0:2], prediction[candidates, 2:4]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1).astype(np.float64)
    kept = nms(boxes, confidences[candidates], classes[candidates], iou_threshold, max_detections)
    protos = output1[0].astype(np.float32)
    found = []
    for index in kept:
        anchor = candidates[index]
        window = crop_window(boxes[index], frame)
        mask = box_mask(prediction[anchor, 4 + num_classes :].astype(np.float32), protos, window, input_size)
        pixels = int(mask.sum())
        if pixels == 0:
            continue  # a box without a mask has no shape or area to report
        polygon = mask_outline(mask, window[2], window[0], frame, simplify_px=simplify_px, max_points=max_points)
        if len(polygon) < 3:
            continue
        found.append(
            Found(
                class_id=int(classes[anchor]),
                confidence=float(confidences[anchor]),
                polygon=polygon,
                mask_area=pixels / (frame.gain * frame.gain),
                mask_pixels=pixels,
            )
        )
    return found
