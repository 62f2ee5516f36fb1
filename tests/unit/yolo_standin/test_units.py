"""In-process tests of the YOLO stand-in's pieces: scheduler, fault config, risk rules, EXIF, geometry."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from PIL import Image, TiffImagePlugin
from pydantic import ValidationError

from yolo_standin.detector import (
    candidate_detections,
    decode,
    detect,
    image_with_class,
    image_without_detections,
    shoelace_area,
)
from yolo_standin.exif import extract_camera, extract_location
from yolo_standin.faults import FAULT_MODES, NO_FAULT, ExactScheduler, FaultConfig, parse_fault_env
from yolo_standin.risk import assess_risk, class_info


def _run(rates: dict[str, float], calls: int) -> dict[str, int]:
    scheduler = ExactScheduler(rates)
    counts: dict[str, int] = {}
    for _ in range(calls):
        outcome = scheduler.next()
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def test_single_rate_is_exact() -> None:
    assert _run({"error": 0.25}, 40) == {"error": 10, NO_FAULT: 30}
    assert _run({"error": 0.1}, 100) == {"error": 10, NO_FAULT: 90}
    assert _run({"error": 1.0}, 7) == {"error": 7}
    assert _run({"error": 0.0}, 7) == {NO_FAULT: 7}


def test_several_rates_are_exact_together() -> None:
    rates = {"error": 0.2, "rate_limit": 0.1, "malformed": 0.1, "bad_request": 0.1}
    assert _run(rates, 20) == {"error": 4, "rate_limit": 2, "malformed": 2, "bad_request": 2, NO_FAULT: 10}


def test_every_prefix_stays_within_one_of_its_share() -> None:
    rng = random.Random(7)
    for _ in range(120):
        modes = rng.sample(FAULT_MODES, rng.randint(1, len(FAULT_MODES)))
        denominator = rng.choice([3, 4, 7, 10, 20, 100])
        raw = [rng.randint(0, denominator) / denominator for _ in modes]
        scale = max(1.0, sum(raw))
        rates = {m: r / scale for m, r in zip(modes, raw, strict=True)}
        weights = {m: Fraction(r).limit_denominator(1_000_000) for m, r in rates.items() if r > 0}
        weights[NO_FAULT] = 1 - sum(weights.values(), Fraction(0))
        scheduler, counts = ExactScheduler(rates), dict.fromkeys(weights, 0)
        for n in range(1, 121):
            counts[scheduler.next()] += 1
            for mode, weight in weights.items():
                assert abs(weight * n - counts[mode]) < 1
                if (weight * n).denominator == 1:
                    assert counts[mode] == weight * n


@pytest.mark.parametrize(
    "raw",
    [
        {"error_rate": 1.5},
        {"error_rate": 0.6, "timeout_rate": 0.6},
        {"latency_ms": -1},
        {"bogus": 1},
        {"malformed_kind": "other"},
    ],
)
def test_fault_config_rejects_bad_settings(raw: dict) -> None:
    with pytest.raises(ValidationError):
        FaultConfig.model_validate(raw)


def test_fault_env_parsing() -> None:
    assert parse_fault_env(None) == FaultConfig()
    assert parse_fault_env("  ") == FaultConfig()
    assert parse_fault_env('{"error_rate": 0.5, "latency_ms": 20}').error_rate == 0.5
    with pytest.raises(ValueError):
        parse_fault_env("{not json")


B, C, W, H, X = "Basura", "Calles mal hechas", "Charcos/Cumulo de agua", "Huecos", "Clase_4"


@pytest.mark.parametrize(
    ("classes", "level", "score"),
    [
        ([B, C, W, H], "ALTO", 1.0),  # rule 1, 0.85 + 0.20 clamped
        ([B, B, C, H], "ALTO", 1.0),  # rule 1, unique 3
        ([B, B, B, H], "ALTO", 0.96),  # rule 2
        ([B] * 5, "ALTO", 1.0),  # rule 3, 0.85 + 0.15
        ([B, W, H], "MEDIO", 0.85),  # rule 4, total < 4 so not rule 1
        ([H, C], "MEDIO", 0.6),  # rule 4 via medium >= 2
        ([W], "MEDIO", 0.6),  # rule 5
        ([W, W], "MEDIO", 0.7),  # rule 5
        ([H], "BAJO", 0.27),  # rule 6
        ([X, X, X], "BAJO", 0.31),  # rule 6, same type three times
        ([X], "MINIMO", 0.06),  # rule 7
        ([], "MINIMO", 0.05),  # rule 7
    ],
)
def test_risk_rules(classes: list[str], level: str, score: float) -> None:
    result = assess_risk([{"class_name": c} for c in classes])
    assert (result["level"], result["risk_score"]) == (level, score)
    assert result["overall_risk"] == level
    assert result["total_detections"] == len(classes)
    assert result["unique_types"] == len(set(classes))
    assert sum(result["type_distribution"].values()) == len(classes)
    assert result["recommendations"] and all(isinstance(r, str) for r in result["recommendations"])


def test_risk_counts_high_and_medium() -> None:
    result = assess_risk([{"class_name": n} for n in (B, W, H, C, X, W)])
    assert (result["high_risk_count"], result["medium_risk_count"]) == (3, 2)
    assert (result["high_risk_sites"], result["medium_risk_sites"]) == (3, 2)
    assert result["diversity_ratio"] == round(5 / 6, 2)


def test_class_table() -> None:
    assert class_info(0)[:2] == ("Basura", "ALTO")
    assert class_info(1)[:2] == ("Calles mal hechas", "MEDIO")
    assert class_info(2)[:2] == ("Charcos/Cumulo de agua", "ALTO")
    assert class_info(3)[:2] == ("Huecos", "MEDIO")
    assert class_info(9) == ("Clase_9", "BAJO", (200, 200, 200))
    # BGR (255,100,0) in the reference is blue, so RGB (0,100,255).
    assert class_info(2)[2] == (0, 100, 255)


def _exif_with_gps(gps: dict) -> Image.Exif:
    exif = Image.Exif()
    exif[0x8825] = gps
    return exif


def test_gps_dms_to_decimal() -> None:
    exif = _exif_with_gps({1: "S", 2: (26.0, 48.0, 28.8), 3: "W", 4: (65.0, 13.0, 4.8)})
    location = extract_location(exif)
    assert location["has_location"] is True
    assert location["latitude"] == pytest.approx(-26.808)
    assert location["longitude"] == pytest.approx(-65.218)
    assert location["altitude_meters"] is None


@pytest.mark.parametrize(
    "gps",
    [
        {2: (26.0, 48.0, 28.8), 4: (65.0, 13.0, 4.8)},  # no refs
        {1: "S", 2: (TiffImagePlugin.IFDRational(26, 0), 48.0, 28.8), 3: "W", 4: (65.0, 13.0, 4.8)},
        {1: "S", 2: ("x", "y", "z"), 3: "W", 4: (65.0, 13.0, 4.8)},
        {1: "S", 2: (26.0, 48.0), 3: "W", 4: (65.0, 13.0, 4.8)},
        {1: "S", 2: 26.8, 3: "W", 4: (65.0, 13.0, 4.8)},
        {1: "Q", 2: (26.0, 48.0, 28.8), 3: "W", 4: (65.0, 13.0, 4.8)},
        {1: "S", 2: (95.0, 0.0, 0.0), 3: "W", 4: (65.0, 13.0, 4.8)},
        {1: "S", 2: (-26.0, 48.0, 28.8), 3: "W", 4: (65.0, 13.0, 4.8)},
        {},
    ],
)
def test_garbage_gps_gives_no_location(gps: dict) -> None:
    assert extract_location(_exif_with_gps(gps))["has_location"] is False


def test_garbage_ifd0_gives_nulls_not_errors() -> None:
    exif = Image.Exif()
    exif[0x010F] = b"Apple\x00"
    exif[0x0110] = 12345
    camera = extract_camera(exif)
    assert camera["camera_make"] == "Apple"
    assert camera["camera_model"] is None


def test_shoelace() -> None:
    assert shoelace_area([[0, 0], [4, 0], [4, 3], [0, 3]]) == 12.0
    assert shoelace_area([[0, 0], [0, 3], [4, 3], [4, 0]]) == 12.0


@pytest.mark.parametrize(("width", "height"), [(1, 1), (2, 900), (640, 480), (4032, 3024)])
def test_polygons_stay_inside_any_image(width: int, height: int) -> None:
    for seed in range(200):
        for det in candidate_detections(seed, width, height):
            assert 5 <= len(det["polygon"]) <= 12
            assert all(0 <= x <= width and 0 <= y <= height for x, y in det["polygon"])
            assert det["mask_area"] == round(shoelace_area(det["polygon"]), 1)
            assert 0.3 <= det["confidence"] <= 0.99


def test_every_class_and_no_detections_can_be_produced() -> None:
    for class_id in range(5):
        image = decode(image_with_class(class_id)).rgb
        assert class_id in {d["class_id"] for d in detect(image, 0.5)}
    assert detect(decode(image_without_detections()).rgb, 0.5) == []


def test_lower_threshold_only_adds_detections() -> None:
    image = decode(image_with_class(2)).rgb
    strict, lenient = detect(image, 0.8), detect(image, 0.3)
    assert all(d in lenient for d in strict)
    assert all(d["confidence"] >= 0.8 for d in strict)
