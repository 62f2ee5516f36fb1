"""EXIF read robustly: whatever a device or an attacker wrote, we get a location or none, never a crash."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from sentrix.domain.location import GeoPoint
from sentrix_detect.logic.exif import clean_exif_bytes, read_exif, read_gps, read_taken_at, text
from tests.support.detect import TUCUMAN, dms, encode, exif_bytes, exif_coordinate, picture


def with_exif(raw: bytes) -> Image.Image:
    return Image.open(io.BytesIO(encode(picture(0, (64, 48)), "JPEG", exif=raw)))


def test_gps_in_the_southern_and_western_hemispheres_is_negative():
    point, tags = read_gps({1: "S", 2: dms(TUCUMAN[0]), 3: "W", 4: dms(TUCUMAN[1])})
    assert point == GeoPoint(exif_coordinate(TUCUMAN[0]), exif_coordinate(TUCUMAN[1]), None)
    assert set(tags) == {1, 2, 3, 4}


def test_altitude_below_sea_level_is_negative():
    point, _ = read_gps({1: "N", 2: (1, 0, 0), 3: "E", 4: (2, 0, 0), 5: b"\x01", 6: IFDRational(125, 10)})
    assert point.altitude_m == -12.5


@pytest.mark.parametrize(
    "gps",
    [
        {2: (26, 48, 28.8), 3: "W", 4: (65, 13, 4.8)},  # no latitude reference
        {1: "S", 2: (26, 48, 28.8), 3: "W"},  # no longitude
        {1: "X", 2: (26, 48, 28.8), 3: "W", 4: (65, 13, 4.8)},  # nonsense reference
        {1: "S", 2: (IFDRational(26, 0), 0, 0), 3: "W", 4: (65, 13, 4.8)},  # zero denominator
        {1: "S", 2: (float("nan"), 0, 0), 3: "W", 4: (65, 13, 4.8)},
        {1: "S", 2: (91, 0, 0), 3: "W", 4: (65, 13, 4.8)},  # out of range
        {1: "S", 2: (26, 48, 28.8), 3: "W", 4: (180, 0, 1)},
        {1: "S", 2: (-26, 48, 28.8), 3: "W", 4: (65, 13, 4.8)},  # sign belongs in the reference
        {1: "S", 2: (26, 60, 0), 3: "W", 4: (65, 13, 4.8)},  # 60 minutes is not a minute value
        {1: "S", 2: "26,48,28.8", 3: "W", 4: (65, 13, 4.8)},  # text instead of rationals
        {1: "S", 2: (26, 48, 28.8, 1), 3: "W", 4: (65, 13, 4.8)},
        {1: "S", 2: (26, 48, 28.8), 3: "W", 4: (65, 13, 4.8), 9: "V"},  # receiver said: no fix
        {},
        "not a dict",
    ],
)
def test_unusable_gps_gives_no_location(gps):
    assert read_gps(gps) == (None, None)


def test_an_unusable_altitude_keeps_the_position():
    point, tags = read_gps({1: "N", 2: (1, 0, 0), 3: "E", 4: (2, 0, 0), 6: IFDRational(1, 0)})
    assert (point.latitude, point.longitude, point.altitude_m) == (1.0, 2.0, None)
    assert 6 not in tags


values = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(IFDRational, st.integers(-(2**31), 2**32), st.integers(-(2**31), 2**32)),
    st.text(max_size=8),
    st.binary(max_size=8),
)
coordinates = st.one_of(values, st.lists(values, max_size=4).map(tuple), st.lists(values, max_size=4))


@given(
    lat=coordinates,
    lon=coordinates,
    lat_ref=values | st.sampled_from(["N", "S", b"N\x00", "s"]),
    lon_ref=values | st.sampled_from(["E", "W", b"W\x00"]),
    altitude=values,
    altitude_ref=values,
)
@settings(max_examples=400)
def test_any_gps_values_give_a_valid_point_or_none(lat, lon, lat_ref, lon_ref, altitude, altitude_ref):
    point, tags = read_gps({1: lat_ref, 2: lat, 3: lon_ref, 4: lon, 5: altitude_ref, 6: altitude})
    if point is None:
        assert tags is None
        return
    assert -90 <= point.latitude <= 90 and -180 <= point.longitude <= 180
    assert math.isfinite(point.latitude) and math.isfinite(point.longitude)
    assert point.altitude_m is None or math.isfinite(point.altitude_m)


@pytest.mark.filterwarnings("ignore::UserWarning")
@given(garbage=st.binary(max_size=300))
@settings(max_examples=150)
def test_garbage_exif_blocks_never_crash_reading(garbage):
    image = with_exif(b"Exif\x00\x00II*\x00" + garbage)
    facts = read_exif(image)
    assert 1 <= facts.orientation <= 8


def test_camera_time_and_gps_are_read_from_a_phone_photo():
    facts = read_exif(with_exif(exif_bytes(gps=TUCUMAN, altitude=450.5, orientation=6)))
    assert (facts.camera_make, facts.camera_model, facts.orientation) == ("Apple", "iPhone 13", 6)
    assert facts.taken_at == datetime(2024, 1, 15, 10, 30, tzinfo=timezone(timedelta(hours=-3)))
    assert (facts.gps.latitude, facts.gps.longitude) == (exif_coordinate(TUCUMAN[0]), exif_coordinate(TUCUMAN[1]))
    assert facts.gps.altitude_m == 450.5


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2024:01:15 10:30:00", "-03:00", datetime(2024, 1, 15, 13, 30, tzinfo=UTC)),
        ("2024:01:15 10:30:00", None, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # no zone: taken as UTC
        ("2024:01:15 10:30:00\x00", "+25:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # bad offset ignored
        (b"2024:01:15 10:30:00", "+05:30", datetime(2024, 1, 15, 5, 0, tzinfo=UTC)),
        ("2024:02:30 10:30:00", None, None),  # no such day
        ("0000:00:00 00:00:00", None, None),  # what cameras write when the clock was never set
        ("1969:12:31 23:59:59", None, None),
        ("yesterday", None, None),
        (12345, None, None),
    ],
)
def test_date_time_original(value, offset, expected):
    moment, _, _ = read_taken_at(value, offset)
    assert moment == expected


def test_text_is_printable_trimmed_and_bounded():
    assert text("  Apple\x00\x00 ") == "Apple"
    assert text(b"Canon\xff") == "Canon\ufffd"
    assert text("x" * 500) == "x" * 100
    assert text("\x00\x01") is None
    assert text(42) is None


def test_the_clean_exif_keeps_camera_time_and_gps_and_nothing_else():
    raw = exif_bytes(gps=TUCUMAN, orientation=8)
    facts = read_exif(with_exif(raw))
    clean = Image.Exif()
    clean.load(clean_exif_bytes(facts, keep_gps=True))
    assert (clean[0x010F], clean[0x0110], clean.get(0x0112)) == ("Apple", "iPhone 13", None)
    assert clean.get_ifd(0x8769)[0x9003] == "2024:01:15 10:30:00"
    gps = clean.get_ifd(0x8825)
    assert read_gps(gps)[0] == facts.gps
    without = Image.Exif()
    without.load(clean_exif_bytes(facts, keep_gps=False))
    assert without.get_ifd(0x8825) == {}


def test_no_facts_give_no_exif_block():
    from sentrix_detect.logic.exif import NO_EXIF

    assert clean_exif_bytes(NO_EXIF, keep_gps=True) is None


def test_dms_helper_round_trips():
    assert float(sum(Fraction(v) / 60**i for i, v in enumerate(dms(-26.808)))) == pytest.approx(26.808, abs=1e-9)
