"""Who reads what: users their own, experts and admins anyone's; public maps by audience."""

from __future__ import annotations

import uuid

import pytest

from sentrix.domain.roles import Role
from sentrix.errors import Forbidden
from sentrix.http.identity import Principal
from sentrix_report.logic.scope import MapAudience, Scope


def principal(role: Role) -> Principal:
    return Principal(uuid.uuid4(), role, "x@example.org")


def test_users_read_their_own_and_may_not_ask_for_others():
    me = principal(Role.USER)
    assert Scope.of(me).owner_id == me.user_id
    assert Scope.of(me, me.user_id).owner_id == me.user_id
    with pytest.raises(Forbidden):
        Scope.of(me, uuid.uuid4())


@pytest.mark.parametrize("role", [Role.EXPERT, Role.ADMIN])
def test_experts_and_admins_read_everyone_or_pick_one(role):
    someone = uuid.uuid4()
    assert Scope.of(principal(role)).owner_id is None
    assert Scope.of(principal(role), someone).owner_id == someone
    assert Scope.of(principal(role)).describe() == "all users"


def test_map_audiences():
    assert MapAudience(None).kind == "anonymous" and MapAudience(None).exact().sql() == "(FALSE)"
    user = principal(Role.USER)
    assert MapAudience(user).exact("a").params == {"viewer": user.user_id}
    assert MapAudience(principal(Role.EXPERT)).exact().sql() == "TRUE"
