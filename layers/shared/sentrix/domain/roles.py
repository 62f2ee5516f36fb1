"""User roles, ordered: user < expert < admin. An expert never passes an admin check.

`official` (issue #19 point 6, docs/territories.md) stands beside that order, not in it: an official ranks as a
user for every check of the order (no verdicts, no administration, not "sees everything") and gets, on top,
everything inside the territories an admin assigned them (sentrix.repositories.officials).
`at_least(Role.OFFICIAL)` holds for officials only.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    EXPERT = "expert"
    ADMIN = "admin"
    OFFICIAL = "official"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, minimum: Role) -> bool:
        if minimum is Role.OFFICIAL:
            return self is Role.OFFICIAL
        return self.rank >= minimum.rank


_RANK = {Role.USER: 0, Role.OFFICIAL: 0, Role.EXPERT: 1, Role.ADMIN: 2}
