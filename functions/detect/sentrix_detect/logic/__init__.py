"""The detect pipeline and its rules: claims, image checks, EXIF and privacy, duplicates, results, retries."""
