"""Intake rules without services: keys, types, options, preferences, content sniffing, the 413 message."""

from __future__ import annotations

import uuid

import pytest

from sentrix.domain import filetypes
from sentrix.errors import InvalidImage, InvalidLocation
from sentrix_upload.logic.errors import UnsupportedMediaType
from sentrix_upload.logic.intake import IncomingFile, checked_image, incoming_key
from sentrix_upload.logic.options import declared_image_type, resolve_options
from sentrix_upload.logic.preferences import Preferences, preferences_from
from sentrix_upload.routes.multipart import too_large
from sentrix_upload.schemas.intake import UploadOptions


def test_incoming_key_scheme_sanitises_the_name():
    user, analysis = uuid.UUID(int=1), uuid.UUID(int=2)

    key = incoming_key(user, analysis, "../../etc/Foto de la Cámara (1).JPG")

    assert key == f"incoming/{user}/{analysis}/Foto_de_la_Camara_1.jpg"


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("a.jpg", "image/jpeg", filetypes.JPEG),
        ("a.jpg", "image/jpg", filetypes.JPEG),
        ("a.bin", "IMAGE/PNG; charset=binary", filetypes.PNG),
        ("IMG_1.HEIC", None, filetypes.HEIC),
        ("scan.tif", None, filetypes.TIFF),
        ("x.webp", None, filetypes.WEBP),
    ],
)
def test_declared_type_from_the_content_type_else_the_extension(filename, content_type, expected):
    assert declared_image_type(filename, content_type) is expected


@pytest.mark.parametrize(("filename", "content_type"), [("a.jpg", "image/gif"), ("a.gif", None), ("noext", None)])
def test_types_outside_the_list_are_415(filename, content_type):
    with pytest.raises(UnsupportedMediaType):
        declared_image_type(filename, content_type)


def test_options_fall_back_to_settings_then_defaults():
    bare = UploadOptions()
    assert resolve_options(bare, Preferences(), 0.5).confidence_threshold == 0.5
    assert resolve_options(bare, Preferences(confidence_threshold=0.8, include_gps=False), 0.5).include_gps is False
    explicit = UploadOptions(confidence_threshold=0.3, include_gps=True, latitude=0, longitude=0)
    resolved = resolve_options(explicit, Preferences(confidence_threshold=0.8, include_gps=False), 0.5)
    assert (resolved.confidence_threshold, resolved.include_gps, resolved.latitude, resolved.longitude) == (
        0.3,
        True,
        0,
        0,
    )


@pytest.mark.parametrize(("lat", "lon"), [(1.0, None), (None, 1.0), (90.01, 0.0), (0.0, 180.01)])
def test_coordinates_both_or_neither_and_in_range(lat, lon):
    with pytest.raises(InvalidLocation):
        resolve_options(UploadOptions(latitude=lat, longitude=lon), Preferences(), 0.5)


def test_preferences_ignore_invalid_values():
    assert preferences_from({"language": "pt-BR", "default_confidence_threshold": 0.6}) == Preferences("pt", 0.6, None)
    assert preferences_from({"language": "fr", "default_confidence_threshold": 3, "default_include_gps": "yes"}) == (
        Preferences()
    )
    assert preferences_from({"default_confidence_threshold": True}) == Preferences()
    assert preferences_from(None) == Preferences()


def test_content_is_sniffed_not_named():
    png = IncomingFile("photo.jpg", "image/jpeg", b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    assert checked_image(png) is filetypes.PNG
    with pytest.raises(InvalidImage, match="empty"):
        checked_image(IncomingFile("a.jpg", "image/jpeg", b""))
    with pytest.raises(InvalidImage, match="not an accepted image"):
        checked_image(IncomingFile("a.jpg", "image/jpeg", b"MZ\x90\x00 an executable"))


def test_the_413_names_the_limit_and_the_presigned_route():
    error = too_large(4 * 1024 * 1024)
    assert error.status == 413
    assert "4.0 MiB" in error.message
    assert error.details == {"max_bytes": 4 * 1024 * 1024, "use": "POST /api/v1/analyses/uploads"}
