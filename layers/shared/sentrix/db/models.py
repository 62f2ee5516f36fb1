"""The ORM classes of the tables the code reads and writes as objects, mapped onto `sentrix.db.tables`.

The columns live in `sentrix.db.tables` (SQLAlchemy Core, cheap to import); a class here adds only what the ORM
needs: its relationships. Tables only ever written by SQL (rollups, alerts, rate limits, subscriptions) have no
class: use `sentrix.db.tables` for them.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from sentrix.db import tables


class Base(DeclarativeBase):
    metadata = tables.metadata


class User(Base):
    __table__ = tables.users
    settings: Mapped[UserSettings | None] = relationship(back_populates="user", cascade="all, delete-orphan")


class RefreshToken(Base):
    """Opaque refresh tokens, stored hashed; a family shares one login so reuse can revoke all of it."""

    __table__ = tables.refresh_tokens


class UserSettings(Base):
    __table__ = tables.user_settings
    user: Mapped[User] = relationship(back_populates="settings")


class Analysis(Base):
    __table__ = tables.analyses
    detections: Mapped[list[Detection]] = relationship(
        back_populates="analysis", cascade="all, delete-orphan", passive_deletes=True
    )


class Detection(Base):
    __table__ = tables.detections
    analysis: Mapped[Analysis] = relationship(back_populates="detections")


class Site(Base):
    """One breeding site however many detections show it (docs/sites.md, migration 0012).

    Everything but status, territory and the lifecycle times is derived from the members (detections with this
    site that are not rejected) by `sentrix.repositories.sites.refresh`, in the transaction that changed them.
    """

    __table__ = tables.sites


class SiteActionRecord(Base):
    """The site's timeline: who did what, when, with which team and evidence, and the status it moved."""

    __table__ = tables.site_actions


class Territory(Base):
    """A polygon of the territorial hierarchy (city → health area → neighbourhood; docs/territories.md, 0013)."""

    __table__ = tables.territories


class OfficialTerritory(Base):
    """A territory an official is scoped to (with every territory below it; docs/territories.md, 0014)."""

    __table__ = tables.official_territories


class Visit(Base):
    """A field visit: premises inspected in a block or area by a team on a day (docs/visits.md, 0016)."""

    __table__ = tables.visits


class VisitContainers(Base):
    """Water-holding containers a visit inspected, and the positive ones, per LIRAa class."""

    __table__ = tables.visit_containers


class VisitSite(Base):
    """A site a visit checked."""

    __table__ = tables.visit_sites


class VisitAnalysis(Base):
    """An analysis photographed during a visit."""

    __table__ = tables.visit_analyses
