"""Reading PDFs back with poppler-utils (pdftotext, pdftoppm, pdfimages), as a person's viewer would."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def pdf_text(pdf: bytes) -> str:
    """The text of every page (layout kept, so table cells stay on their lines)."""
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def render_first_page(pdf: bytes) -> bytes:
    """Page 1 rendered to PNG at 50 dpi."""
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(source), f"{directory}/page"],
                       check=True, capture_output=True)  # fmt: skip
        [page] = sorted(Path(directory).glob("page*.png"))
        return page.read_bytes()


def embedded_images(pdf: bytes) -> list[dict[str, str]]:
    """`pdfimages -list` rows: page, type, width, height, color, enc (codec), …"""
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "doc.pdf"
        source.write_bytes(pdf)
        out = subprocess.run(["pdfimages", "-list", str(source)], check=True, capture_output=True).stdout.decode()
    lines = out.splitlines()
    header = lines[0].split()
    return [dict(zip(header, line.split(), strict=False)) for line in lines[2:] if line.strip()]
