"""Unit tests of the report function: filters, scope, rendering, pure helpers."""
