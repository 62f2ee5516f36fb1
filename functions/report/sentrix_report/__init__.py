"""Report function: PDFs, exports, maps and statistics, all computed in PostGIS."""
