"""BootstrapAdminEmail through the deploy hook, against real PostGIS and a stand-in for CloudFormation's response URL.

The parameter makes an account that already exists an admin after the migrations; whatever else happens (no such
account yet, a bad address, a database refusing the change, too little time left) is said in the answer and never
fails the deployment. During a rollback nothing is applied.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sentrix.db import deploy_hook
from tests.builders import LambdaContext
from tests.infra.cfn_endpoint import ResponseEndpoint
from tests.infra.test_deploy_hook import (
    STACK_ID,
    UPDATING,
    FrozenContext,
    head_revision,
    local_database,
    query,
    stack_in,
)

DATABASE = "sentrix_deploy_first_admin"


def run(url: str, sql: str, **params: Any) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def migrated(postgis, cfn_endpoint_module: ResponseEndpoint) -> str:
    """A database the hook's Create migrated (once for the module)."""
    postgis.recreate_database(DATABASE)
    url = postgis.url(DATABASE)
    create = update_event(cfn_endpoint_module, "", request_type="Create")
    assert deploy_hook.handle(create, LambdaContext("MigrateFunction", 60), database=local_database(url))["Status"] == (
        "SUCCESS"
    )
    return url


@pytest.fixture(scope="module")
def cfn_endpoint_module() -> Iterator[ResponseEndpoint]:
    endpoint = ResponseEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def database(migrated: str) -> Iterator[str]:
    run(migrated, "DELETE FROM users")
    yield migrated
    run(migrated, "DROP TRIGGER IF EXISTS refuse_role_change ON users")


def update_event(
    endpoint: ResponseEndpoint, email: str | None, *, request_type: str = "Update", layer: int = 2
) -> dict[str, Any]:
    """An Update as a `make deploy` with BootstrapAdminEmail sends it (the layer moved forward: not a rollback)."""
    layer_arn = "arn:aws:lambda:us-east-1:1:layer:shared"
    properties: dict[str, Any] = {"MigrationsVersion": f"{layer_arn}:{layer}#20261202T1800Z"}
    if email is not None:
        properties["BootstrapAdminEmail"] = email
    event = {
        "RequestType": request_type,
        "ResponseURL": endpoint.url,
        "StackId": STACK_ID,
        "RequestId": f"req-{uuid.uuid4()}",
        "LogicalResourceId": "DatabaseMigrations",
        "ResourceType": "Custom::DatabaseMigrations",
        "ResourceProperties": properties,
    }
    if request_type == "Update":
        event["PhysicalResourceId"] = "migrations-1"
        event["OldResourceProperties"] = {"MigrationsVersion": f"{layer_arn}:{layer - 1}#x"}
    return event


def register(url: str, email: str, role: str = "user") -> uuid.UUID:
    user_id = uuid.uuid4()
    run(
        url,
        "INSERT INTO users (id, email, password_hash, role) VALUES (:id, :email, 'x', CAST(:role AS user_role))",
        id=user_id,
        email=email,
        role=role,
    )
    return user_id


def roles(url: str) -> list[tuple]:
    return query(url, "SELECT email, role::text FROM users ORDER BY email")


def deploy(url: str, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("stack_status", UPDATING)
    context = kwargs.pop("context", LambdaContext("MigrateFunction", 60))
    return deploy_hook.handle(event, context, database=local_database(url), **kwargs)


def test_an_update_naming_an_existing_account_promotes_it_to_admin(
    database: str, cfn_endpoint: ResponseEndpoint
) -> None:
    # Given the operator registered, then deploys with their address (in another case) as BootstrapAdminEmail
    register(database, "ops@example.org")

    # When the deploy hook handles the Update
    body = deploy(database, update_event(cfn_endpoint, "Ops@Example.org"))

    # Then the account is an admin, and the answer says so beside the revision
    assert roles(database) == [("ops@example.org", "admin")]
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"Revision": head_revision(database), "FirstAdmin": "promoted"}
    assert body["Reason"].endswith("First admin: ops@example.org promoted from user to admin")
    (received,) = cfn_endpoint.received
    assert received.body == body


def test_an_expert_is_promoted_to_admin_too(database: str, cfn_endpoint: ResponseEndpoint) -> None:
    # Given an expert / When a deployment names them
    register(database, "expert@example.org", role="expert")
    body = deploy(database, update_event(cfn_endpoint, "expert@example.org"))

    # Then they are an admin
    assert roles(database) == [("expert@example.org", "admin")]
    assert body["Data"]["FirstAdmin"] == "promoted"


def test_every_later_deployment_leaves_the_admin_as_it_is(database: str, cfn_endpoint: ResponseEndpoint) -> None:
    # Given a deployment that already promoted the account
    register(database, "ops@example.org")
    deploy(database, update_event(cfn_endpoint, "ops@example.org"))

    # When the next deployment keeps the parameter
    body = deploy(database, update_event(cfn_endpoint, "ops@example.org", layer=3))

    # Then nothing changes, and the answer says the account already was an admin
    assert roles(database) == [("ops@example.org", "admin")]
    assert (body["Status"], body["Data"]["FirstAdmin"]) == ("SUCCESS", "unchanged")
    assert "ops@example.org is already admin" in body["Reason"]


def test_an_address_nobody_registered_answers_success_saying_it_was_not_found(
    database: str, cfn_endpoint: ResponseEndpoint
) -> None:
    # Given no account with the address (another one exists)
    register(database, "someone@example.org")

    # When a deployment names it
    body = deploy(database, update_event(cfn_endpoint, "ops@example.org"))

    # Then the deployment goes on, nobody is created or promoted, and the reason says what to do
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"Revision": head_revision(database), "FirstAdmin": "not_found"}
    assert "no account with ops@example.org yet - register it, then deploy again" in body["Reason"]
    assert roles(database) == [("someone@example.org", "user")]


def test_a_database_refusing_the_promotion_does_not_fail_the_deployment(
    database: str, cfn_endpoint: ResponseEndpoint
) -> None:
    # Given an account, and a database that refuses any change of a role (a trigger raising)
    register(database, "ops@example.org")
    run(
        database,
        "CREATE OR REPLACE FUNCTION refuse_role_change() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'roles are frozen'; END $$",
    )
    run(
        database,
        "CREATE TRIGGER refuse_role_change BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION refuse_role_change()",
    )

    # When a deployment names the account
    body = deploy(database, update_event(cfn_endpoint, "ops@example.org"))

    # Then the deployment still succeeds, saying the first admin was not applied and why
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"Revision": head_revision(database), "FirstAdmin": "error"}
    assert "First admin not applied (" in body["Reason"]
    assert "roles are frozen" in body["Reason"]
    assert roles(database) == [("ops@example.org", "user")]


def test_an_address_that_is_not_one_is_reported_not_failed(database: str, cfn_endpoint: ResponseEndpoint) -> None:
    # Given a property the template's pattern would let through but sign-up never would (no TLD)
    register(database, "ops@example.org")

    # When a deployment carries it
    body = deploy(database, update_event(cfn_endpoint, "ops@example.o"))

    # Then the deployment succeeds, the reason names the bad address, and nobody changed
    assert (body["Status"], body["Data"]["FirstAdmin"]) == ("SUCCESS", "error")
    assert "First admin not applied: Not a valid e-mail address: 'ops@example.o'" in body["Reason"]
    assert roles(database) == [("ops@example.org", "user")]


def test_a_rollback_applies_nothing(database: str, cfn_endpoint: ResponseEndpoint) -> None:
    # Given an account, and an Update sent while the stack rolls back
    register(database, "ops@example.org")
    event = update_event(cfn_endpoint, "ops@example.org")

    # When the hook handles it
    body = deploy(database, event, stack_status=stack_in("UPDATE_ROLLBACK_IN_PROGRESS"))

    # Then it answers as for any rollback, and the account is not promoted
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"Revision": deploy_hook.REVISION_NOT_CHECKED}
    assert roles(database) == [("ops@example.org", "user")]


def test_with_too_little_time_left_it_waits_for_the_next_deployment(
    database: str, cfn_endpoint: ResponseEndpoint
) -> None:
    # Given an account, and a hook whose migrations leave less time than the step may need (30 s in all,
    # 15 s of it kept back to answer)
    register(database, "ops@example.org")

    # When a deployment names the account
    body = deploy(database, update_event(cfn_endpoint, "ops@example.org"), context=FrozenContext(30))

    # Then it answers SUCCESS at once, saying the next deployment applies it, and nobody changed
    assert (body["Status"], body["Data"]["FirstAdmin"]) == ("SUCCESS", "error")
    assert "too little time" in body["Reason"]
    assert roles(database) == [("ops@example.org", "user")]


def test_without_the_parameter_the_answer_is_as_before(database: str, cfn_endpoint: ResponseEndpoint) -> None:
    # Given an account / When a deployment with an empty BootstrapAdminEmail runs
    register(database, "ops@example.org")
    body = deploy(database, update_event(cfn_endpoint, ""))

    # Then the answer carries the revision alone, and nobody was promoted
    assert body["Data"] == {"Revision": head_revision(database)}
    assert "First admin" not in body["Reason"]
    assert roles(database) == [("ops@example.org", "user")]


# --- The template side: the parameter reaches the hook, and its pattern ---------------------------------
def test_the_custom_resource_passes_the_parameter_to_the_hook(template: dict[str, Any]) -> None:
    properties = template["Resources"]["DatabaseMigrations"]["Properties"]
    assert properties["BootstrapAdminEmail"] == {"Ref": "BootstrapAdminEmail"}
    assert template["Parameters"]["BootstrapAdminEmail"]["Default"] == ""


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("ops@example.org", True),
        ("first.admin+sentrix@health.example.gov.br", True),
        ("ops", False),
        ("ops@example", False),
        ("ops@example.org,other@example.org", False),
        ("ops @example.org", False),
        ("ops@example.org ", False),
    ],
)
def test_the_parameter_takes_one_address_or_nothing(template: dict[str, Any], value: str, accepted: bool) -> None:
    pattern = template["Parameters"]["BootstrapAdminEmail"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted
