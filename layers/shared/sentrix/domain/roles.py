"""User roles, ordered: user < expert < admin. An expert never passes an admin check."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    EXPERT = "expert"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, minimum: Role) -> bool:
        return self.rank >= minimum.rank


_RANK = {Role.USER: 0, Role.EXPERT: 1, Role.ADMIN: 2}
