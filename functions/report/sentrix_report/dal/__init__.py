"""Data access of the report function: the SQL (PostGIS) that computes every number, map and export row."""
