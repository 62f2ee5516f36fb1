"""Turning computed results into files: PDF (reportlab), CSV, and the map image (Pillow). Imported lazily."""
