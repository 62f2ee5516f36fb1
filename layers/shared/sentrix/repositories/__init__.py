"""Data access shared by several functions. Function-specific queries live in the function's own package."""
