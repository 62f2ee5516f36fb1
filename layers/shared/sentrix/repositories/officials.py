"""What an official may see: the territories an admin assigned them and every territory below (docs/territories.md).

An official sees every analysis and site tagged with one of those codes (exact positions, everyone's), and
nothing else but their own analyses; anything outside is 404, as for any user.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from sentrix.db.models import OfficialTerritory, Territory
from sentrix.domain.roles import Role
from sentrix.http.identity import Principal


def is_official(principal: Principal) -> bool:
    """Whether the principal is a health official (scoped to their territories)."""
    return principal.role is Role.OFFICIAL


def scope_codes(user_id: uuid.UUID) -> Any:
    """A select of the codes an official's scope covers: their territories and all descendants."""
    tree = (
        select(OfficialTerritory.territory_code.label("code"))
        .where(OfficialTerritory.user_id == user_id)
        .cte("official_scope", recursive=True)
    )
    tree = tree.union_all(select(Territory.code).where(Territory.parent_code == tree.c.code))
    return select(tree.c.code)
