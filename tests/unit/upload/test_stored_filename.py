"""The client's file name as stored: a NUL (which PostgreSQL text cannot hold) or other control characters
once made `POST /analyses/uploads` a 500 — found by the load run's hostile file names (bench/load.py)."""

from __future__ import annotations

from sentrix_upload.logic.intake import MAX_FILENAME, stored_filename


def test_control_characters_are_dropped_and_the_rest_kept():
    assert stored_filename("foto\x00.php.jpg") == "foto.php.jpg"
    assert stored_filename("calle\r\nX-Injected: 1.jpg") == "calleX-Injected: 1.jpg"
    assert stored_filename("📷 charco ñandú.jpg") == "📷 charco ñandú.jpg"
    assert stored_filename("\u202egpj.exe.jpg") == "\u202egpj.exe.jpg"  # a format character, storable and shown


def test_the_name_is_bounded():
    assert stored_filename("a" * 300 + ".jpg") == "a" * MAX_FILENAME
