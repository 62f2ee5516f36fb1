"""Geometry columns that import GeoAlchemy2 only when a statement first touches one (issue 21, cold start).

Importing geoalchemy2 costs 110-210 ms of a cold start (it loads every dialect it supports), and every function
imports the models: the auth function, which never reads a geometry, paid it on every cold start. `Geometry`
here is a TypeDecorator standing for GeoAlchemy2's type of the same arguments: its DDL, bind and column
expressions (ST_GeomFromEWKT / ST_AsEWKB), result values (WKBElement) and spatial operators are GeoAlchemy2's,
built on first use. Importing this module imports nothing of GeoAlchemy2.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.types import NullType, TypeDecorator, UserDefinedType


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

    class comparator_factory(UserDefinedType.Comparator):  # SQLAlchemy's name for it
        """GeoAlchemy2's comparator for the column, built when an operator or a spatial method is first used.

        SQLAlchemy builds a column's comparator as soon as anything probes the column for an attribute it lacks
        (`func.ST_Y(column)` asks it for `__clause_element__`): such dunder probes are answered without importing
        GeoAlchemy2; everything else — operators, `.ST_*` functions, `intersects`, `<<`, `contains` — is
        GeoAlchemy2's comparator's own answer."""

        def _geoalchemy(self) -> Any:
            real = self.__dict__.get("_real")
            if real is None:
                real = self.__dict__["_real"] = self.type.real().comparator_factory(self.expr)
            return real

        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            return self._geoalchemy().operate(op, *other, **kwargs)

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            return self._geoalchemy().reverse_operate(op, other, **kwargs)

        # ColumnOperators' methods GeoAlchemy2's comparator overrides with spatial meanings.
        def __lshift__(self, other: Any) -> Any:
            return self._geoalchemy().__lshift__(other)

        def __rshift__(self, other: Any) -> Any:
            return self._geoalchemy().__rshift__(other)

        def contains(self, other: Any, **kwargs: Any) -> Any:
            return self._geoalchemy().contains(other, **kwargs)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            return getattr(self._geoalchemy(), name)

    @property
    def python_type(self) -> type:
        return self.real().python_type

    def __repr__(self) -> str:
        return f"Geometry(geometry_type={self.geometry_type!r}, srid={self.srid!r})"


class BareGeography(UserDefinedType):
    """The bare `geography` type of a cast (`location::geography`), as GeoAlchemy2's
    `Geography(geometry_type=None, srid=-1, spatial_index=False)` writes it, without importing GeoAlchemy2.

    Only for casts inside SQL expressions (ST_DWithin, ST_Distance, ST_Area arguments): the expression indexes
    `ix_*_location_geog` are built on exactly `(location)::geography`, so PostgreSQL uses them. A typed
    `geography(POINT,4326)` would not match them."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "geography"


# One instance serves every cast.
GEOGRAPHY = BareGeography()
