"""Integration tests of the report function on seeded PostGIS data with hand-computed answers."""
