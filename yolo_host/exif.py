"""`location` and `camera_info` of a /detect answer, read with detect's own defensive EXIF reader."""

from __future__ import annotations

from typing import Any

from sentrix_detect.logic.exif import DATETIME, GPS_IFD, MAKE, MODEL, read_gps, text

SOFTWARE = 0x0131

NO_LOCATION: dict[str, Any] = {
    "has_location": False,
    "latitude": None,
    "longitude": None,
    "altitude_meters": None,
    "location_source": None,
}


def location_and_camera(image: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contract's `location` and `camera_info` objects of an opened Pillow image; odd EXIF never raises."""
    try:
        exif = image.getexif()
    except Exception:
        exif = {}
    try:
        gps_ifd = exif.get_ifd(GPS_IFD) if hasattr(exif, "get_ifd") else {}
    except Exception:
        gps_ifd = {}
    point, _ = read_gps(gps_ifd)
    location = dict(NO_LOCATION)
    if point is not None:
        location = {
            "has_location": True,
            "latitude": point.latitude,
            "longitude": point.longitude,
            "altitude_meters": point.altitude_m,
            "location_source": "EXIF_GPS",
        }
    camera = {
        "camera_make": text(exif.get(MAKE)),
        "camera_model": text(exif.get(MODEL)),
        "camera_datetime": text(exif.get(DATETIME), 32),
        "camera_software": text(exif.get(SOFTWARE)),
    }
    return location, camera
