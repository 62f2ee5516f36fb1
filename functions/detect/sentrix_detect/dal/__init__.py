"""The analysis store: the SQL of the detect function on PostGIS."""
