"""Image checks and normalisation: types, limits before decoding, one reduced decode, orientation, modes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sentrix.errors import InvalidImage
from sentrix_detect.logic.imaging import ImageLimits, prepare_image
from tests.support.detect import TUCUMAN, encode, exif_bytes, photo, picture
from tests.support.detect_fuzz import png_declaring

# Pillow warns above its own 89.5 MP default while reading headers; our limits decide, and are tested here.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

LIMITS = ImageLimits(
    max_bytes=50 * 1024 * 1024, max_pixels=100_000_000, max_side=20_000, min_side=32, yolo_min_side=1600
)


def sent(prepared) -> Image.Image:
    image = Image.open(io.BytesIO(prepared.jpeg))
    image.load()
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "HEIF"])
def test_every_accepted_format_becomes_an_rgb_jpeg(fmt):
    prepared = prepare_image(photo(fmt, size=(320, 240)), LIMITS, keep_gps=True)
    image = sent(prepared)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (320, 240))
    assert (prepared.width, prepared.height, prepared.sent_size) == (320, 240, (320, 240))
    assert prepared.image_type.name == {"HEIF": "heic", "TIFF": "tiff"}.get(fmt, fmt.lower())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\x00" * 50, "not a supported image"),
        (b"\xff\xd8\xff" + b"\x00" * 50, "cannot be read"),
        (png_declaring(25_000, 100), "no side may exceed 20000"),
        (png_declaring(12_000, 10_000), "declares 120000000 pixels"),
        (png_declaring(40_000, 40_000), "more than 100000000 pixels"),
        (png_declaring(20, 200), "at least 32"),
        (photo("JPEG")[:-300], "corrupt or truncated"),
    ],
    ids=["empty", "gif", "jpeg-header-only", "side", "pixels", "pillow-bomb", "tiny", "truncated"],
)
def test_unusable_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(InvalidImage, match=reason):
        prepare_image(data, LIMITS, keep_gps=True)


def test_the_size_limit_comes_first():
    data = photo("JPEG")
    with pytest.raises(InvalidImage, match=f"{len(data)} bytes, over the limit of 1000 bytes"):
        prepare_image(data, ImageLimits(1000, 10**8, 20_000, 32, 1600), keep_gps=True)


@pytest.fixture
def decodes(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of every image whose pixels Pillow decodes (a spy on ImageFile.load, the one decoding path)."""
    from PIL import ImageFile

    calls: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        calls.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return calls


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(decodes):
    # 14000 x 14000 declared in 100 bytes: decoding it would need ~590 MB
    bomb = png_declaring(14_000, 14_000)
    with pytest.raises(InvalidImage, match="decompression bomb"):
        prepare_image(bomb, LIMITS, keep_gps=True)
    assert decodes == []  # refused from the header: no pixel was decoded
    # The spy sees decodes: an acceptable PNG is loaded (load() is called again on the loaded image too).
    prepare_image(encode(Image.new("RGB", (64, 48), (1, 2, 3)), "PNG"), LIMITS, keep_gps=True)
    assert set(decodes) == {(64, 48)}


@pytest.mark.parametrize(
    ("size", "sent_size"),
    [((4000, 3000), (2000, 1500)), ((3199, 2000), (3199, 2000)), ((8000, 6000), (2000, 1500))],
)
def test_jpegs_are_reduced_inside_the_decoder(size, sent_size):
    prepared = prepare_image(encode(Image.new("RGB", size, (90, 120, 30)), "JPEG"), LIMITS, keep_gps=True)
    assert prepared.sent_size == sent_size
    assert (prepared.width, prepared.height) == size


def test_other_formats_are_reduced_by_a_whole_factor():
    prepared = prepare_image(encode(Image.new("RGB", (5000, 1000), (1, 2, 3)), "PNG"), LIMITS, keep_gps=True)
    assert prepared.sent_size == (1667, 334)  # factor 3 keeps the long side ≥ 1600


# Orientation → (where the red top-left corner of the sensor image ends up, portrait?)
ORIENTATIONS = {
    1: ("top-left", False),
    2: ("top-right", False),
    3: ("bottom-right", False),
    4: ("bottom-left", False),
    5: ("top-left", True),
    6: ("top-right", True),
    7: ("bottom-right", True),
    8: ("bottom-left", True),
}


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_every_exif_orientation_is_applied(orientation):
    image = Image.new("RGB", (120, 80), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 30, 20))  # a red mark in the stored top-left corner
    data = encode(image, "PNG", exif=exif_bytes(orientation=orientation))

    prepared = prepare_image(data, LIMITS, keep_gps=True)

    corner, portrait = ORIENTATIONS[orientation]
    width, height = (80, 120) if portrait else (120, 80)
    assert (prepared.width, prepared.height) == (width, height)
    out = sent(prepared)
    x = 5 if corner.endswith("left") else width - 6
    y = 5 if corner.startswith("top") else height - 6
    red, _, blue = out.getpixel((x, y))
    assert red > 200 and blue < 60, (orientation, out.getpixel((x, y)))


def test_tiff_orientation_is_not_applied_twice():
    data = encode(Image.new("RGB", (120, 80)), "TIFF", exif=exif_bytes(orientation=6))
    prepared = prepare_image(data, LIMITS, keep_gps=True)
    assert (prepared.width, prepared.height) == (80, 120) == sent(prepared).size


def test_heic_gps_and_camera_survive_into_the_jpeg():
    prepared = prepare_image(photo("HEIF", gps=TUCUMAN, model="iPhone 14 Pro"), LIMITS, keep_gps=True)
    exif = sent(prepared).getexif()
    assert exif[0x0110] == "iPhone 14 Pro"
    assert exif.get_ifd(0x8825)[1] == "S"
    assert prepared.exif.gps is not None


def test_gps_is_stripped_from_the_jpeg_when_the_user_did_not_allow_it():
    prepared = prepare_image(photo("JPEG", gps=TUCUMAN), LIMITS, keep_gps=False)
    assert sent(prepared).getexif().get_ifd(0x8825) == {}
    assert prepared.exif.gps is not None  # read, but it is the pipeline that decides not to use it


@pytest.mark.parametrize(
    ("mode", "colour", "expected"),
    [
        ("RGBA", (255, 0, 0, 0), (255, 255, 255)),  # fully transparent becomes white
        ("LA", (0, 255), (0, 0, 0)),
        ("L", 128, (128, 128, 128)),
        ("I;16", 256 * 200, (200, 200, 200)),  # 16-bit grey scaled, not clipped to white
        ("CMYK", (0, 0, 0, 0), (255, 255, 255)),
        ("1", 1, (255, 255, 255)),
    ],
)
def test_image_modes_become_sensible_rgb(mode, colour, expected):
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "LA" else "PNG"
    data = encode(Image.new(mode, (64, 48), colour), fmt)
    out = sent(prepare_image(data, LIMITS, keep_gps=True))
    assert all(abs(a - b) <= 3 for a, b in zip(out.getpixel((10, 10)), expected, strict=True))


def test_a_palette_image_with_transparency():
    image = Image.new("P", (64, 48), 0)
    image.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    data = encode(image, "PNG", transparency=0)
    out = sent(prepare_image(data, LIMITS, keep_gps=True))
    assert out.getpixel((5, 5)) == (255, 255, 255)


def test_an_appended_payload_does_not_reach_the_jpeg():
    data = photo("JPEG") + b"<?php system($_GET['c']); ?>"
    prepared = prepare_image(data, LIMITS, keep_gps=True)
    assert b"<?php" not in prepared.jpeg


def test_the_perceptual_hash_survives_format_changes():
    from sentrix_detect.logic.duplicates import hamming

    hashes = [prepare_image(encode(picture(4), fmt), LIMITS, keep_gps=True) for fmt in ("JPEG", "PNG", "HEIF")]
    assert all(h.hash_reliable for h in hashes)
    assert max(hamming(hashes[0].perceptual_hash, h.perceptual_hash) for h in hashes) <= 4
