"""Request models of the report function's HTTP edge (they are also its OpenAPI document)."""
