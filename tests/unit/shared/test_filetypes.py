"""Content sniffing: real images of every accepted type are recognised; names and lookalikes are not."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image

from sentrix.domain import filetypes


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", filetypes.JPEG),
        ("PNG", filetypes.PNG),
        ("WEBP", filetypes.WEBP),
        ("TIFF", filetypes.TIFF),
        ("BMP", filetypes.BMP),
    ],
)
def test_pillow_encoded_images_are_recognised(fmt, expected):
    assert filetypes.sniff(encoded(fmt)[:64]) is expected


def test_heic_is_recognised():
    image = pillow_heif.from_pillow(Image.new("RGB", (16, 16)))
    buffer = io.BytesIO()
    image.save(buffer, quality=50)
    assert filetypes.sniff(buffer.getvalue()[:64]) is filetypes.HEIC


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8",
        b"GIF89a" + b"\x00" * 20,
        b"%PDF-1.7\n",
        b"<svg xmlns=",
        b"PK\x03\x04zip",
        b"\x00\x00\x00\x1cftypavif" + b"\x00" * 20,
        b"RIFF\x00\x00\x00\x00WAVE",
        b"BM",
    ],
)
def test_non_images_and_unaccepted_types_are_refused(head):
    assert filetypes.sniff(head) is None


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/jpeg", filetypes.JPEG),
        ("IMAGE/JPG", filetypes.JPEG),
        ("image/png; charset=x", filetypes.PNG),
        ("image/gif", None),
        ("application/octet-stream", None),
    ],
)
def test_content_types(content_type, expected):
    assert filetypes.by_content_type(content_type) is expected


# Headers built from the formats' own specifications (TIFF 6.0 §2, the BMP file and core headers, ISO/IEC 14496-12
# §4.3 for the `ftyp` box), byte by byte, for the cases Pillow's encoders never write.


def ftyp(major: bytes, *compatible: bytes, size: int | None = None) -> bytes:
    """An ISO-BMFF `ftyp` box: size (4), "ftyp", major brand (4), minor version (4), compatible brands (4 each)."""
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (size or 4 + len(body)).to_bytes(4, "big") + body


def test_big_endian_tiff_is_recognised():
    # "MM", then 42 as a big-endian 16-bit number, then the offset of the first IFD
    assert filetypes.sniff(b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 24) is filetypes.TIFF


def test_the_smallest_bmp_header_is_26_bytes():
    # a 14-byte file header and a 12-byte BITMAPCOREHEADER, the smallest a BMP can start with
    head = b"BM" + b"\x00" * 24
    assert filetypes.sniff(head) is filetypes.BMP
    assert filetypes.sniff(head[:25]) is None


@pytest.mark.parametrize("brand", [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"])
def test_a_heic_major_brand_alone_is_heic(brand):
    box = ftyp(brand)
    assert filetypes.sniff(box[:12]) is filetypes.HEIC  # size, "ftyp" and the major brand are enough
    assert filetypes.sniff(box) is filetypes.HEIC


@pytest.mark.parametrize("brand", [b"mif1", b"msf1", b"heif"])
def test_a_heif_major_brand_alone_is_heif(brand):
    assert filetypes.sniff(ftyp(brand)[:12]) is filetypes.HEIF
    assert filetypes.sniff(ftyp(brand)) is filetypes.HEIF


@pytest.mark.parametrize("position", range(5))
def test_a_heic_compatible_brand_makes_a_heif_file_heic(position):
    # major "mif1" (generic HEIF) with "heic" among the compatible brands, at each of the first five places
    others = [b"mif1", b"miaf", b"MiHE", b"MiPr", b"iso8"]
    brands = [*others[:position], b"heic", *others[position:]]
    head = ftyp(b"mif1", *brands)
    assert filetypes.sniff(head) is filetypes.HEIC
    assert filetypes.sniff(ftyp(b"mif1", *others)) is filetypes.HEIF


def test_a_compatible_brand_beyond_the_first_64_bytes_is_not_read():
    # the docstring's contract: the first bytes of a file (a sniffed head is at most 64 bytes long)
    head = ftyp(b"isom", *([b"iso2"] * 11), b"heic")
    assert head.index(b"heic") == 60
    assert filetypes.sniff(head[:64]) is filetypes.HEIC
    assert filetypes.sniff(ftyp(b"isom", *([b"iso2"] * 12), b"heic")) is None


def test_brands_without_an_ftyp_box_mean_nothing():
    assert filetypes.sniff(b"\x00\x00\x00\x18moovheic\x00\x00\x00\x00heic") is None
    assert filetypes.sniff(b"\x00\x00\x00\x18ftyp") is None  # the box is cut before its major brand
    assert filetypes.sniff(ftyp(b"isom", b"avif", b"mif1")) is None  # AVIF, or a brand we do not list


@pytest.mark.parametrize(
    "content_type",
    ["image/png;charset=x;q=1", "image/png ; a=b; c=d", "image/png;a=image/jpeg"],
)
def test_parameters_after_the_first_semicolon_are_ignored(content_type):
    assert filetypes.by_content_type(content_type) is filetypes.PNG


def test_brands_are_read_whole_never_across_two_of_them():
    # "mihe" followed by "icxx" spells "heic" two bytes in: not a brand
    assert filetypes.sniff(ftyp(b"isom", b"mihe", b"icxx")) is None


def test_the_twelve_byte_riff_header_is_enough_for_webp():
    # "RIFF", the little-endian size of what follows, "WEBP": the whole RIFF container header
    head = b"RIFF" + (4096).to_bytes(4, "little") + b"WEBP"
    assert filetypes.sniff(head) is filetypes.WEBP
    assert filetypes.sniff(head[:11]) is None
