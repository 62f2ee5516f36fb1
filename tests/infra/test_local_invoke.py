"""The files for `sam local invoke` (where Docker exists): env.json and one canonical event per handler."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.template_model import SAM_FUNCTION, Template, api_events, environment, resources_of

UPLOAD_PREFIX = "incoming/"


def check_env_json(template: Template, env: dict[str, Any]) -> list[str]:
    """env.json only sets variables the template declares: `sam local invoke` silently drops the rest."""
    names = resources_of(template, SAM_FUNCTION)
    violations = [
        f"env.json: {key} is not a function of the template" for key in env if key not in {*names, "Parameters"}
    ]
    for function in names:
        wanted = {**env.get("Parameters", {}), **env.get(function, {})}
        violations += [
            f"env.json: {function} sets {var}, which the template does not declare"
            for var in sorted(set(wanted) - set(environment(template, function)))
        ]
    return violations


def test_env_json_only_sets_declared_variables(template: Template, env_json: dict[str, Any]) -> None:
    assert check_env_json(template, env_json) == []


def test_env_json_check_reports_undeclared_variable(template: Template, env_json: dict[str, Any]) -> None:
    # Given env.json with a variable no function declares
    env = copy.deepcopy(env_json)
    env["DetectFunction"]["NOT_IN_TEMPLATE"] = "x"

    # Then the check names it
    assert check_env_json(template, env) == [
        "env.json: DetectFunction sets NOT_IN_TEMPLATE, which the template does not declare"
    ]


API_EVENT_FILES = {
    "upload-health.json": "UploadFunction",
    "auth-me.json": "AuthFunction",
    "report-map-stats.json": "ReportFunction",
}


@pytest.mark.parametrize(("filename", "function"), sorted(API_EVENT_FILES.items()))
def test_api_event_file_targets_a_declared_route(
    template: Template, repo_root: Path, filename: str, function: str
) -> None:
    # Given a canonical API Gateway proxy event
    event = json.loads((repo_root / "events" / filename).read_text(encoding="utf-8"))

    # Then it asks for a route the function serves, with the authorizer context iff the route is protected
    routes = {
        (p["Method"].upper(), p["Path"]): (p.get("Auth") or {}).get("Authorizer") != "NONE"
        for fn, _, p in api_events(template)
        if fn == function
    }
    route = (event["httpMethod"], event["resource"])
    assert route in routes
    assert ("authorizer" in event["requestContext"]) is routes[route]


def test_authorizer_event_is_a_request_authorizer_event(repo_root: Path) -> None:
    event = json.loads((repo_root / "events" / "authorizer-request.json").read_text(encoding="utf-8"))

    assert event["type"] == "REQUEST"
    assert event["methodArn"].endswith(f"/v1/{event['httpMethod']}{event['path']}")
    assert "Authorization" in event["headers"]


def test_detect_event_announces_an_incoming_upload(repo_root: Path) -> None:
    # Given the canonical SQS event for the detect function
    event = json.loads((repo_root / "events" / "detect-sqs-s3-created.json").read_text(encoding="utf-8"))
    (record,) = event["Records"]

    # Then it wraps one S3 ObjectCreated notification for an incoming/<user>/<analysis>/<file> key
    (s3_record,) = json.loads(record["body"])["Records"]
    key = s3_record["s3"]["object"]["key"]
    assert record["eventSource"] == "aws:sqs"
    assert s3_record["eventName"].startswith("ObjectCreated:")
    assert key.startswith(UPLOAD_PREFIX)
    assert len(key.split("/")) == 4


# One canonical event per handler of the template (functions sharing a handler share its event).
EVENT_FILES = {
    "sentrix_auth.api.handler": "auth-me.json",
    "sentrix_auth.authorizer.handler": "authorizer-request.json",
    "sentrix_upload.api.handler": "upload-health.json",
    "sentrix_detect.handler.handler": "detect-sqs-s3-created.json",
    "sentrix_report.api.handler": "report-map-stats.json",
    "sentrix_report.scheduled.handler": "report-schedule-daily.json",
    "sentrix_migrate.handler.handler": "migrate-cfn-create.json",
    "sentrix_report.deliver.handler": "deliver-schedule.json",
}


def test_every_handler_has_a_canonical_event(template: Template, repo_root: Path) -> None:
    handlers = {props["Handler"] for props in (r["Properties"] for r in resources_of(template, SAM_FUNCTION).values())}

    assert handlers == set(EVENT_FILES)
    assert all((repo_root / "events" / name).is_file() for name in EVENT_FILES.values())


def test_deliver_event_is_what_the_templates_schedule_sends(template: Template, repo_root: Path) -> None:
    event = json.loads((repo_root / "events" / "deliver-schedule.json").read_text(encoding="utf-8"))
    schedules = [
        e for e in template["Resources"]["DeliveryFunction"]["Properties"]["Events"].values() if e["Type"] == "Schedule"
    ]

    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert [e["Properties"]["Schedule"] for e in schedules] == ["rate(1 minute)"]


def test_migrate_event_is_the_custom_resource_request_cloudformation_sends(template: Template, repo_root: Path) -> None:
    # Given the canonical deploy-hook event
    event = json.loads((repo_root / "events" / "migrate-cfn-create.json").read_text(encoding="utf-8"))
    resource = template["Resources"][event["LogicalResourceId"]]

    # Then it is a Create for the template's migrations resource, carrying that resource's properties
    assert event["RequestType"] == "Create"
    assert event["ResourceType"] == resource["Type"]
    assert set(event["ResourceProperties"]) == set(resource["Properties"])
    assert {"ResponseURL", "StackId", "RequestId"} <= set(event)
