"""Sites in the database: detections join or start them (detect), verdicts and deletions settle them (upload).

Every function works inside the caller's transaction: a detection is on its site when its row commits, never
after. The rules are sentrix.domain.sites'; docs/sites.md tells them whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Float, Integer, String, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, ENUM, UUID

from sentrix.config import Settings, get_settings
from sentrix.domain.classes import BreedingSiteType
from sentrix.domain.sites import (
    RECURRENCE_DAYS,
    SiteAction,
    SiteFamily,
    SiteStatus,
    family_of,
    lock_keys,
    merge_radius,
)

if TYPE_CHECKING:  # an ORM session, or a Core connection (detect's store: no ORM at cold start)
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class MergeRules:
    """Radius per family, the recurrence window, and whether to lock (False only to show the race in tests)."""

    radii_m: dict[SiteFamily, float] = field(default_factory=lambda: dict.fromkeys(SiteFamily, 15.0))
    recurrence_days: int = RECURRENCE_DAYS
    lock: bool = True

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> MergeRules:
        settings = settings or get_settings()
        return cls(
            radii_m={family: settings.site_radius_m(family) for family in SiteFamily},
            recurrence_days=settings.site_recurrence_days,
        )


def join_or_create(
    session: Session | Connection,
    detections: Sequence[tuple[uuid.UUID, BreedingSiteType | str | None]],
    latitude: float,
    longitude: float,
    *,
    accuracy_m: float | None = None,
    rules: MergeRules | None = None,
) -> list[uuid.UUID]:
    """Put freshly stored detections (id, breeding-site type) taken at one point on their sites.

    Per family: the nearest site that takes them within the radius, else a new one; detections of unknown
    classes stay without a site. Returns the sites touched. Call it in the transaction that stored them.
    The rules' inputs are computed here (sentrix.domain.sites); the database function `sites_join`
    (migration 0012) locks, searches, creates or reopens, joins and recomputes in one round trip.
    """
    rules = rules or MergeRules.from_settings()
    ids: list[str] = []
    families: list[str] = []
    by_family: dict[SiteFamily, float] = {}
    for detection_id, site_type in detections:
        family = family_of(site_type)
        if family is not None:
            ids.append(str(detection_id))
            families.append(family.value)
            by_family[family] = merge_radius(rules.radii_m[family], accuracy_m)
    if not by_family:
        return []
    keys = sorted({key for family in by_family for key in lock_keys(family, latitude, longitude)}) if rules.lock else []
    touched = session.execute(
        text(
            "SELECT sites_join(CAST(:ids AS uuid[]), CAST(:detection_families AS site_family[]), "
            "CAST(:families AS site_family[]), CAST(:radii AS float8[]), CAST(:lat AS float8), "
            "CAST(:lon AS float8), :days, CAST(:keys AS bigint[]))"
        ),
        {
            "ids": ids,
            "detection_families": families,
            "families": [f.value for f in by_family],
            "radii": [float(r) for r in by_family.values()],
            "lat": float(latitude),
            "lon": float(longitude),
            "days": rules.recurrence_days,
            "keys": keys,
        },
    ).scalar_one()
    return [uuid.UUID(str(i)) for i in touched]


def place_subquery(
    site_types: Sequence[BreedingSiteType | str | None],
    latitude: float,
    longitude: float,
    *,
    reporter: uuid.UUID | None,
    accuracy_m: float | None = None,
    rules: MergeRules | None = None,
) -> Any:
    """The site each family of `site_types` (detections of one analysis about to be stored at one point, by
    `reporter`: the analysis' user, None when the user was deleted) goes to —
    the nearest site that takes them within the radius, else a new one (`sites_place`, migrations 0018, 0021 and
    0023: the locks, search, creation or reopening of `join_or_create`, before the detections exist) — as a scalar
    subquery (an array of "family=site id" texts) riding on a statement detect sends anyway (its analysis
    UPDATE ... RETURNING): no round trip of its own. A site it starts is written with its final figures (these
    detections are its members), and so is a site it joins (counts, reporters, last report, its point moved to
    its members' centroid and re-tagged); None when no type has a family. Read the answer with `placed_sites`;
    the caller inserts the detections with these `site_id`s in the same transaction, and has nothing to refresh."""
    rules = rules or MergeRules.from_settings()
    by_family: dict[SiteFamily, float] = {}
    members: dict[SiteFamily, int] = {}
    for site_type in site_types:
        family = family_of(site_type)
        if family is not None:
            by_family[family] = merge_radius(rules.radii_m[family], accuracy_m)
            members[family] = members.get(family, 0) + 1
    if not by_family:
        return None
    keys = sorted({key for family in by_family for key in lock_keys(family, latitude, longitude)}) if rules.lock else []
    family_enum = ENUM(name="site_family", create_type=False)
    placed = func.sites_place(
        cast(bindparam("place_families", [f.value for f in by_family], type_=ARRAY(String)), ARRAY(family_enum)),
        bindparam("place_radii", [float(r) for r in by_family.values()], type_=ARRAY(Float)),
        bindparam("place_lat", float(latitude), type_=Float),
        bindparam("place_lon", float(longitude), type_=Float),
        bindparam("place_days", rules.recurrence_days, type_=Integer),
        bindparam("place_keys", keys, type_=ARRAY(BigInteger)),
        bindparam("place_members", [members[f] for f in by_family], type_=ARRAY(Integer)),
        bindparam("place_reporters", 0 if reporter is None else 1, type_=Integer),
        cast(bindparam("place_reporter", None if reporter is None else str(reporter), type_=String), UUID),
    ).table_valued("family", "site_id", "created")
    text_of = func.concat(cast(placed.c.family, String), "=", cast(placed.c.site_id, String))
    return select(func.array_agg(text_of)).select_from(placed).scalar_subquery()


def placed_sites(value: Sequence[str] | None) -> dict[SiteFamily, uuid.UUID]:
    """The answer of `place_subquery`: each family's site."""
    pairs = (item.split("=", 1) for item in value or ())
    return {SiteFamily(family): uuid.UUID(site) for family, site in pairs}


def _record(
    session: Session | Connection,
    site_id: uuid.UUID,
    action: SiteAction,
    from_status: SiteStatus | None,
    to_status: SiteStatus,
    *,
    actor_id: uuid.UUID | None = None,
    cause: str | None = None,
) -> None:
    session.execute(
        text(
            "INSERT INTO site_actions (id, site_id, action, actor_id, cause, from_status, to_status) VALUES "
            "(:id, :site, CAST(:action AS site_action), :actor, :cause, CAST(:from_status AS site_status), "
            "CAST(:to_status AS site_status))"
        ),
        {
            "id": uuid.uuid4(),
            "site": site_id,
            "action": action.value,
            "actor": actor_id,
            "cause": cause,
            "from_status": from_status.value if from_status else None,
            "to_status": to_status.value,
        },
    )


def refresh(session: Session | Connection, site_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Recompute what sites derive from their members (detections not rejected): centroid, report times,
    counts, confirmation (`sites_refresh`, migration 0012). Returns each site's member count. A site without
    members keeps its last point and times."""
    if not site_ids:
        return {}
    rows = session.execute(
        text("SELECT site_id, members FROM sites_refresh(CAST(:ids AS uuid[]))"),
        {"ids": [str(i) for i in dict.fromkeys(site_ids)]},
    ).all()
    return {row.site_id: row.members for row in rows}


def settle(session: Session | Connection, site_ids: Iterable[uuid.UUID | None], actor_id: uuid.UUID | None) -> None:
    """After members left or came back (a verdict, a deleted analysis): recompute the sites, dismiss those
    with no member left, and restore those that a lack of members had dismissed once one is back.

    The sites are locked first (in id order): the recomputation that follows reads the members as committed
    by whoever held them before.
    """
    ids = sorted({i for i in site_ids if i is not None})
    if not ids:
        return
    statuses = dict(
        session.execute(
            text("SELECT id, status FROM sites WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE"),
            {"ids": [str(i) for i in ids]},
        ).all()
    )
    members = refresh(session, ids)
    for site_id in ids:
        status = SiteStatus(statuses[site_id])
        if members.get(site_id, 0) == 0 and status is not SiteStatus.DISMISSED:
            _set_status(session, site_id, SiteStatus.DISMISSED)
            _record(
                session,
                site_id,
                SiteAction.DISMISS,
                status,
                SiteStatus.DISMISSED,
                actor_id=actor_id,
                cause="no_members",
            )
        elif members.get(site_id, 0) > 0 and status is SiteStatus.DISMISSED:
            # Back only if the lack of members dismissed it: an expert's own dismissal stands.
            last = session.execute(
                text(
                    "SELECT action, cause, from_status FROM site_actions WHERE site_id = :id "
                    "ORDER BY at DESC, id DESC LIMIT 1"
                ),
                {"id": site_id},
            ).first()
            if last is not None and last.action == SiteAction.DISMISS.value and last.cause == "no_members":
                previous = SiteStatus(last.from_status)
                _set_status(session, site_id, previous)
                _record(
                    session,
                    site_id,
                    SiteAction.RESTORE,
                    SiteStatus.DISMISSED,
                    previous,
                    actor_id=actor_id,
                    cause="member_restored",
                )


def _set_status(session: Session | Connection, site_id: uuid.UUID, status: SiteStatus) -> None:
    session.execute(
        text("UPDATE sites SET status = CAST(:status AS site_status), updated_at = now() WHERE id = :id"),
        {"id": site_id, "status": status.value},
    )


def sites_of(session: Session | Connection, detection_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The sites these detections belong to (whatever their verdict)."""
    if not detection_ids:
        return []
    return list(
        session.scalars(
            text(
                "SELECT DISTINCT site_id FROM detections WHERE id = ANY(CAST(:ids AS uuid[])) AND site_id IS NOT NULL"
            ),
            {"ids": [str(i) for i in detection_ids]},
        )
    )
