"""Standardized image names and filenames safe for S3 keys."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sentrix.domain.naming import device_code, location_code, sanitize_filename, standardized_name

ANALYSIS_ID = "3F2A9C1D-77b4-4e2a-9c1d-0123456789ab"
SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@pytest.mark.parametrize(
    ("make", "model", "code"),
    [
        ("Apple", "iPhone 13 Pro", "IPHONE13PRO"),
        ("Apple", "iPhone 13", "IPHONE13"),
        ("samsung", "SM-G991B", "SMG991B"),
        ("samsung", "Galaxy S21", "GALAXYS21"),
        ("samsung", "SAMSUNG Galaxy S21", "GALAXYS21"),
        ("samsung", "SM Galaxy A52", "GALAXYA52"),  # whatever precedes "Galaxy" goes, however short
        ("samsung", "S Galaxy A52", "GALAXYA52"),
        ("Google", "Pixel 7a", "PIXEL7A"),
        ("Canon", "", "CANON"),
        ("NIKON CORPORATION", None, "NIKONCORPORATION"),
        ("Cámara", None, "CAMARA"),
        (None, None, "UNKNOWN"),
        ("", "", "UNKNOWN"),
        ("  ", "---", "UNKNOWN"),
        ("Acme", "Model With A Really Long Name 2000", "MODELWITHAREALLYLONG"),
        ("Acme", "日本語", "ACME"),
    ],
)
def test_device_code(make, model, code):
    assert device_code(make, model) == code


@given(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_device_code_is_short_uppercase_alphanumeric(make, model):
    assert re.fullmatch(r"[A-Z0-9]{1,20}", device_code(make, model))


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        (-26.808, -65.218, "LATn26p808_LONn65p218"),
        (40.7128, -74.006, "LAT40p713_LONn74p006"),
        (0, 0, "LAT0p000_LON0p000"),
        (-0.0001, 12.3456, "LAT0p000_LON12p346"),
        (None, None, "NOLOC"),
        (-26.8, None, "NOLOC"),
        (None, -65.2, "NOLOC"),
        (float("nan"), 0, "NOLOC"),
        (95, 0, "NOLOC"),
    ],
)
def test_location_code(lat, lon, code):
    assert location_code(lat, lon) == code


def _name(**overrides) -> str:
    args = {
        "analysis_id": ANALYSIS_ID,
        "taken_at": None,
        "fallback_time": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "camera_make": "Apple",
        "camera_model": "iPhone 13",
        "latitude": -26.808,
        "longitude": -65.218,
    } | overrides
    return standardized_name(**args)


def test_standardized_name_example():
    assert _name() == "SENTRIX_20240102_030405_IPHONE13_LATn26p808_LONn65p218_3f2a9c1d.jpg"


def test_taken_at_wins_over_fallback_time():
    taken = datetime(2023, 12, 31, 23, 59, 58, tzinfo=UTC)

    assert _name(taken_at=taken).startswith("SENTRIX_20231231_235958_")


def test_aware_times_are_written_in_utc():
    taken = datetime(2024, 1, 2, 22, 0, 0, tzinfo=timezone(timedelta(hours=-3)))

    assert _name(taken_at=taken).startswith("SENTRIX_20240103_010000_")


def test_naive_exif_time_is_kept_as_the_camera_wrote_it():
    assert _name(taken_at=datetime(2024, 6, 7, 8, 9, 10)).startswith("SENTRIX_20240607_080910_")


def test_without_camera_or_location():
    name = _name(camera_make=None, camera_model=None, latitude=None, longitude=None)

    assert name == "SENTRIX_20240102_030405_UNKNOWN_NOLOC_3f2a9c1d.jpg"


def test_analysis_id_may_be_a_uuid_object():
    assert _name(analysis_id=uuid.UUID(ANALYSIS_ID)) == _name()


def test_analysis_id_must_be_a_uuid():
    with pytest.raises(ValueError):
        _name(analysis_id="../../etc")


@given(
    analysis_id=st.uuids(),
    moment=st.datetimes(timezones=st.just(UTC)),
    make=st.one_of(st.none(), st.text(max_size=30)),
    model=st.one_of(st.none(), st.text(max_size=30)),
    lat=st.one_of(st.none(), st.floats(-90, 90)),
    lon=st.one_of(st.none(), st.floats(-180, 180)),
)
def test_standardized_name_is_always_a_safe_filename(analysis_id, moment, make, model, lat, lon):
    name = standardized_name(
        analysis_id=str(analysis_id),
        taken_at=None,
        fallback_time=moment,
        camera_make=make,
        camera_model=model,
        latitude=lat,
        longitude=lon,
    )

    assert re.fullmatch(
        r"SENTRIX_\d{8}_\d{6}_[A-Z0-9]{1,20}_(NOLOC|LATn?\d+p\d{3}_LONn?\d+p\d{3})_[0-9a-f]{8}\.jpg", name
    )
    assert sanitize_filename(name) == name


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("photo.jpg", "photo.jpg"),
        ("IMG_1234.JPG", "IMG_1234.jpg"),
        ("my photo (1).JPEG", "my_photo_1.jpeg"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\x\\y.png", "y.png"),
        ("a\x00b.jpg", "ab.jpg"),
        ("line\nbreak.png", "linebreak.png"),
        ("\u202egpj.exe", "gpj.exe"),  # right-to-left override hides the real extension
        ("zero\u200bwidth.jpg", "zerowidth.jpg"),
        ("fotó de día.HEIC", "foto_de_dia.heic"),
        ("ｆｕｌｌｗｉｄｔｈ.ＰＮＧ", "fullwidth.png"),
        ("dir／evil.png", "evil.png"),  # fullwidth solidus becomes "/" under NFKC
        ("日本語.jpg", "image.jpg"),
        ("a...b.jpg", "a.b.jpg"),
        ("a___b--c.jpg", "a_b-c.jpg"),
        ("...hidden.jpg", "hidden.jpg"),
        ("__init__.py", "init.py"),
        ("archive.tar.GZ", "archive.tar.gz"),
        ("name.", "name"),
        ("name.j_p", "name.j_p"),
        (".", "image"),
        ("..", "image"),
        ("", "image"),
        ("/", "image"),
        ("dir/", "image"),
        ("...", "image"),
        (".jpg", "image.jpg"),
        ("-_-.jpg", "image.jpg"),
    ],
)
def test_sanitize_filename(raw, clean):
    assert sanitize_filename(raw) == clean


def test_long_names_are_truncated_keeping_the_extension():
    result = sanitize_filename("x" * 500 + ".jpg")

    assert result == "x" * 96 + ".jpg"


def test_truncation_does_not_leave_a_separator_before_the_extension():
    result = sanitize_filename("a" * 95 + "_bcdef.png")

    assert result == "a" * 95 + ".png"


def test_long_name_without_extension_is_truncated():
    assert sanitize_filename("y" * 500) == "y" * 100


def test_custom_max_length():
    assert sanitize_filename("abcdefghijklmnopqrstuvwxyz.jpeg", max_length=20) == "abcdefghijklmno.jpeg"


def test_max_length_too_small_is_rejected():
    with pytest.raises(ValueError, match="max_length"):
        sanitize_filename("photo.jpg", max_length=8)


@given(st.text(), st.integers(min_value=16, max_value=200))
def test_sanitize_filename_is_always_safe(raw, max_length):
    result = sanitize_filename(raw, max_length=max_length)

    assert SAFE.match(result)
    assert ".." not in result
    assert 1 <= len(result) <= max_length


@given(st.text())
@example("0.A.")  # found by Hypothesis: the trailing dot's removal exposed an extension to lower-case
def test_sanitize_filename_is_idempotent(raw):
    once = sanitize_filename(raw)

    assert sanitize_filename(once) == once


def test_without_a_model_the_make_names_the_device():
    assert "_CANON_" in _name(camera_make="Canon", camera_model=None)


def test_aware_times_are_written_in_utc_whatever_the_machine_zone(machine_in_tucuman):
    taken = datetime(2024, 1, 2, 22, 0, 0, tzinfo=timezone(timedelta(hours=2)))

    assert _name(taken_at=taken).startswith("SENTRIX_20240102_200000_")


def test_a_zone_without_an_offset_is_kept_as_the_camera_wrote_it(machine_in_tucuman):
    from datetime import tzinfo

    class NoOffset(tzinfo):
        def utcoffset(self, dt):
            return None

        def dst(self, dt):
            return None

    assert _name(taken_at=datetime(2024, 6, 7, 8, 9, 10, tzinfo=NoOffset())).startswith("SENTRIX_20240607_080910_")
