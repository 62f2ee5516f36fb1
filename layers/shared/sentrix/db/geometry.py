"""Geometry columns that import GeoAlchemy2 only when a statement first touches one (issue 21, cold start).

Importing geoalchemy2 costs 110-210 ms of a cold start (it loads every dialect it supports), and every function
imports the models: the auth function, which never reads a geometry, paid it on every cold start. `Geometry`
here is a TypeDecorator standing for GeoAlchemy2's type of the same arguments: its DDL, bind and column
expressions (ST_GeomFromEWKT / ST_AsEWKB), result values (WKBElement) and spatial operators are GeoAlchemy2's,
built on first use. Importing this module imports nothing of GeoAlchemy2.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.types import NullType, TypeDecorator


class Geometry(TypeDecorator):
    """`geoalchemy2.Geometry(geometry_type, srid, spatial_index=...)`, imported when first compiled or compared."""

    impl = NullType
    cache_ok = False  # as GeoAlchemy2's own types

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = -1, spatial_index: bool = True) -> None:
        super().__init__()
        self.geometry_type = geometry_type
        self.srid = srid
        self.spatial_index = spatial_index
        self._real: Any = None

    def real(self) -> Any:
        """GeoAlchemy2's Geometry with these arguments (importing GeoAlchemy2 the first time)."""
        if self._real is None:
            from geoalchemy2 import Geometry as GeoAlchemyGeometry

            self._real = GeoAlchemyGeometry(
                geometry_type=self.geometry_type, srid=self.srid, spatial_index=self.spatial_index
            )
        return self._real

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(self.real())

    def bind_expression(self, bindvalue: Any) -> Any:
        return self.real().bind_expression(bindvalue)

    def column_expression(self, column: Any) -> Any:
        return self.real().column_expression(column)

    @property
    def comparator_factory(self) -> Any:  # type: ignore[override]
        return self.real().comparator_factory

    @property
    def python_type(self) -> type:
        return self.real().python_type

    def __repr__(self) -> str:
        return f"Geometry(geometry_type={self.geometry_type!r}, srid={self.srid!r})"
