"""Every template invariant holds on infra/template.yaml and fails, by name, on a copy broken on purpose.

A check that can never fail cannot hide here: each one has at least one breakage below, and
test_every_check_has_a_breakage keeps it that way.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.infra import invariants as app
from tests.infra import invariants_data as data
from tests.infra import invariants_http as http
from tests.infra import invariants_lifecycle as life
from tests.infra import invariants_operations as ops
from tests.infra.breakages import BREAKAGES
from tests.infra.iam_usage import check_iam_matches_code
from tests.infra.template_model import Edit, Template, apply

CHECKS: list[Callable[[Template], list[str]]] = [
    app.check_visibility_timeouts,
    app.check_sqs_batch_item_failures,
    app.check_redrive_policies,
    app.check_dlq_alarms,
    app.check_log_groups,
    app.check_binary_media_types,
    app.check_no_wildcard_actions,
    app.check_api_events,
    app.check_bucket_security,
    app.check_upload_notifications,
    app.check_incoming_lifecycle,
    app.check_cors_preflight,
    app.check_api_stage_settings,
    data.check_database_hardening,
    data.check_database_network,
    data.check_functions_reach_database,
    data.check_proxy_auth,
    data.check_vpc_reachability,
    ops.check_migrations_on_deploy,
    ops.check_alarms,
    ops.check_log_retention,
    ops.check_signing_key_access,
    ops.check_database_roles,
    ops.check_layers_by_weight,
    ops.check_bounded_consumers,
    ops.check_scheduled_workers,
    http.check_gateway_response_headers,
    http.check_explicit_cors_origins,
    http.check_no_local_switches,
    http.check_snapstart,
    life.check_retained_data,
    life.check_database_parameters,
    life.check_versioned_buckets,
    life.check_api_execution_logs,
    life.check_waf,
    life.check_public_route_throttling,
    check_iam_matches_code,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_template_keeps_invariant(template: Template, check: Callable[[Template], list[str]]) -> None:
    # Given the real template / When the invariant is checked
    violations = check(template)

    # Then it holds
    assert violations == []


@pytest.mark.parametrize(("check", "edits", "expected"), BREAKAGES)
def test_check_reports_a_broken_template(
    template: Template, check: Callable[[Template], list[str]], edits: list[Edit], expected: str
) -> None:
    # Given a copy of the template with one invariant broken
    broken = apply(template, edits)

    # When the invariant is checked
    violations = check(broken)

    # Then the breakage is reported, by name
    assert any(expected in v for v in violations), violations


def test_every_check_has_a_breakage() -> None:
    # Given the checks and the breakages / Then no check goes untested against a broken template
    broken_checks = {param.values[0] for param in BREAKAGES}
    assert [c.__name__ for c in CHECKS if c not in broken_checks] == []


def test_every_check_is_run() -> None:
    # Given the check functions the invariant modules define / Then none is left out of CHECKS
    modules = (app, data, ops, http, life)
    defined = {getattr(module, name) for module in modules for name in dir(module) if name.startswith("check_")}
    assert sorted(c.__name__ for c in defined - set(CHECKS)) == []


def test_broad_deny_is_not_a_wildcard_grant(template: Template) -> None:
    # Given the TLS-only bucket policy, a Deny on s3:* / When wildcard actions are checked
    statement = template["Resources"]["ImagesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]

    # Then the statement is a Deny and the check accepts the template
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:*")
    assert app.check_no_wildcard_actions(template) == []
