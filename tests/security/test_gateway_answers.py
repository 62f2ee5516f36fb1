"""API Gateway's own answers over real HTTP, compared with what infra/template.yaml declares.

Every GatewayResponses entry the local gateway can meet is triggered (no route, no/expired/forged token, a denying
or failing authorizer, a body over 10 MB) and the answer checked against the entry rendered *here* from the
template text: status, each mapped header, and the body with its $context values. So the local stack and the
template cannot drift apart, and a browser on another origin can read each refusal (the envelope, its id).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from sentrix_local.gateway import Gateway, serve
from sentrix_local.processes import free_port
from sentrix_local.template import load_template, stack_spec
from tests.security.support import auth, claims_for, sign_with_our_key, unsigned

pytestmark = pytest.mark.integration

API = next(r for r in load_template()["Resources"].values() if r.get("Type") == "AWS::Serverless::Api")["Properties"]
RESPONSES: dict[str, Any] = API["GatewayResponses"]
# API Gateway's documented status and $context.error.message for each type triggered here
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
AWS_DEFAULTS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal server error"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error"),
    "THROTTLED": (429, "Too Many Requests"),
}
# Entries no local request can trigger: the fall-backs.
NOT_TRIGGERED_LOCALLY = {"DEFAULT_4XX", "DEFAULT_5XX"}
BROWSER = {"Origin": "http://localhost:5173", "X-Request-ID": "browser-req-42"}
REQUEST_TIME = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")


def expected_answer(kind: str, request_id: str, sent: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The template's entry for `kind` (or DEFAULT_4XX/5XX), rendered as API Gateway renders it."""
    default_status, message = AWS_DEFAULTS[kind]
    entry = RESPONSES.get(kind) or RESPONSES["DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"]
    status = int(RESPONSES.get(kind, {}).get("StatusCode", default_status))
    headers = {}
    for name, value in entry["ResponseParameters"]["Headers"].items():
        if value.startswith("'"):
            headers[name.lower()] = value.strip("'")
        elif value.startswith("method.request.header.") and value.rsplit(".", 1)[1] in sent:
            headers[name.lower()] = sent[value.rsplit(".", 1)[1]]
    body = entry["ResponseTemplates"]["application/json"]
    for variable, rendered in {
        "$context.requestId": request_id,
        "$context.error.responseType": kind,
        "$context.error.messageString": json.dumps(message),
        "$context.requestTime": "REQUEST-TIME",
    }.items():
        body = body.replace(variable, rendered)
    return status, headers, json.loads(body)


def assert_answer_is_the_templates(response: httpx.Response, kind: str, sent: dict[str, str]) -> None:
    request_id = response.headers["x-amzn-requestid"]  # what API Gateway adds to every answer of its own
    status, headers, body = expected_answer(kind, request_id, sent)
    assert response.status_code == status, response.text
    assert {name: response.headers.get(name) for name in headers} == headers
    assert response.headers["content-type"] == "application/json"
    got = response.json()
    assert REQUEST_TIME.match(got["error"].pop("timestamp")), got
    body["error"].pop("timestamp")
    assert got == body


@pytest.fixture
def tokens(shared_world, signing_key) -> dict[str, str]:
    now = int(time.time())
    return {
        "expired": sign_with_our_key(claims_for(shared_world.bob, iat=now - 1000, exp=now - 120), signing_key),
        "forged": unsigned(claims_for(shared_world.admin)),
    }


CASES = [
    pytest.param("GET", "/no-such-route", None, "MISSING_AUTHENTICATION_TOKEN", id="unknown-route"),
    pytest.param("PUT", "/health", None, "MISSING_AUTHENTICATION_TOKEN", id="undeclared-method"),
    pytest.param("GET", "/me", None, "UNAUTHORIZED", id="no-token"),
    pytest.param("GET", "/me", "expired", "UNAUTHORIZED", id="expired-token"),
    pytest.param("GET", "/me", "forged", "UNAUTHORIZED", id="forged-token"),
]


@pytest.mark.parametrize(("method", "path", "token", "kind"), CASES)
def test_the_gateways_refusal_is_the_templates_entry(shared_api, tokens, method, path, token, kind):
    # Given a browser on the local front end's origin that names its request
    headers = {**BROWSER, **(auth(tokens[token]) if token else {})}
    # When the gateway itself refuses the request
    response = shared_api.request(method, path, headers=headers)
    # Then the answer is the template's GatewayResponses entry: envelope, hardening, CORS, the client's id
    assert_answer_is_the_templates(response, kind, BROWSER)


def test_an_unauthorized_answer_tells_the_client_to_use_a_bearer_token(shared_api):
    response = shared_api.get("/me", headers=BROWSER)
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["error"]["id"] == response.headers["x-amzn-requestid"]


def test_a_body_over_the_payload_limit_is_the_templates_entry(shared_api, shared_world):
    body = b"x" * (10 * 1024 * 1024 + 1)
    response = shared_api.post("/analyses/uploads", content=body, headers={**BROWSER, **shared_world.headers("bob")})
    assert_answer_is_the_templates(response, "REQUEST_TOO_LARGE", BROWSER)


class StandInAuthorizer:
    """An authorizer function that answers `outcome` (a policy, something else, or an error to raise)."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def invoke(self, event: dict[str, Any]) -> Any:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@pytest.fixture
def gateway_with_authorizer() -> Iterator[Any]:
    """Start a gateway over the template whose authorizer is a stand-in; yields a function making one."""
    servers = []

    def start(outcome: Any) -> httpx.Client:
        spec = stack_spec()
        server = serve(Gateway(spec, {spec.authorizer_function: StandInAuthorizer(outcome)}), "127.0.0.1", free_port())
        servers.append(server)
        return httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}/api/v1", timeout=30)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


DENY = {
    "principalId": "someone",
    "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "arn:aws:execute-api:*"}],
    },
}
AUTHORIZER_OUTCOMES = [
    pytest.param(DENY, "ACCESS_DENIED", id="denied"),
    pytest.param(RuntimeError("cannot reach the key store"), "AUTHORIZER_FAILURE", id="authorizer-fails"),
    pytest.param({"principalId": "someone"}, "AUTHORIZER_CONFIGURATION_ERROR", id="authorizer-answers-no-policy"),
]


@pytest.mark.parametrize(("outcome", "kind"), AUTHORIZER_OUTCOMES)
def test_an_authorizers_denial_or_failure_is_the_templates_entry(gateway_with_authorizer, outcome, kind):
    client = gateway_with_authorizer(outcome)
    response = client.get("/me", headers={**BROWSER, "Authorization": "Bearer anything"})
    assert_answer_is_the_templates(response, kind, BROWSER)


def test_every_gateway_response_of_the_template_is_triggered_here():
    # A new GatewayResponses entry must get a case above (or be one no local request can meet).
    assert set(RESPONSES) - NOT_TRIGGERED_LOCALLY <= set(AWS_DEFAULTS)


# --- what the template's API settings make of requests the gateway passes on --------------------------------------
def _gateway(api_changes: dict[str, Any], functions: dict[str, Any], **options: Any) -> tuple[Any, httpx.Client]:
    spec = stack_spec()
    changed = replace(spec, api=replace(spec.api, **api_changes))
    if "cors" in api_changes:  # SAM's Cors instead of the template's OPTIONS events
        changed = replace(changed, routes=tuple(r for r in spec.routes if r.method != "OPTIONS"))
    server = serve(Gateway(changed, functions, **options), "127.0.0.1", free_port())
    return server, httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}/api/v1", timeout=30)


SAM_CORS = {
    "AllowOrigin": "'*'",
    "AllowMethods": "'GET,POST,OPTIONS'",
    "AllowHeaders": "'Authorization,Content-Type'",
    "MaxAge": "'600'",
}


@pytest.mark.parametrize(
    ("binary_media_types", "status"), [(("application/pdf",), 200), (("*/*",), 500)], ids=["exact-types", "any-type"]
)
def test_a_sam_cors_mock_answers_preflights_itself_unless_every_type_is_binary(binary_media_types, status):
    # Given a template declaring SAM's Cors, and no function nor authorizer behind the API at all
    server, client = _gateway({"cors": SAM_CORS, "binary_media_types": binary_media_types}, {})
    try:
        # When a browser sends a preflight for a protected route
        response = client.options("/me", headers={**BROWSER, "Access-Control-Request-Method": "GET"})
    finally:
        server.shutdown()
        server.server_close()
    # Then API Gateway's mock answers with the Cors values; under "*/*" the preflight is binary and the mock's
    # JSON request template cannot apply: 500 (why this template has no Cors)
    assert response.status_code == status, response.text
    if status == 200:
        assert {k: response.headers[f"access-control-{k}"] for k in ("allow-origin", "allow-methods", "max-age")} == {
            "allow-origin": "*",
            "allow-methods": "GET,POST,OPTIONS",
            "max-age": "600",
        }
        assert response.headers["access-control-allow-headers"] == "Authorization,Content-Type"
    else:
        assert_answer_is_the_templates(response, "API_CONFIGURATION_ERROR", BROWSER)


class Recorder:
    """A function that keeps the event it got and answers 200."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


@pytest.mark.parametrize(
    ("binary_media_types", "encoded"), [(("*/*",), True), (("application/pdf",), False)], ids=["any-type", "exact"]
)
def test_a_json_body_is_base64_encoded_when_its_type_is_binary(binary_media_types, encoded):
    recorder = Recorder()
    server, client = _gateway({"binary_media_types": binary_media_types}, {"AuthFunction": recorder})
    try:
        sent = json.dumps({"email": "ana@example.org", "password": "ü sturdy passphrase"}).encode()
        client.post("/login", content=sent, headers={"Content-Type": "application/json"})
    finally:
        server.shutdown()
        server.server_close()
    [event] = recorder.events
    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]) if encoded else event["body"].encode()) == sent


def test_json_sign_up_and_sign_in_work_with_base64_bodies(api):
    # Under "*/*" the auth function gets every JSON body base64-encoded (as in the cloud); Mangum decodes it.
    registered = api.post("/register", json={"email": "dora@example.org", "password": "a sturdy passphrase"})
    assert registered.status_code == 201, registered.text
    login = api.post("/login", json={"email": "dora@example.org", "password": "a sturdy passphrase"})
    assert login.status_code == 200, login.text
    assert login.json()["access_token"]


def test_a_route_over_its_throttling_limit_is_the_templates_entry():
    # Given the template's throttling with the sign-in route's bucket cut to one request and (nearly) no refill
    limits = {**stack_spec().api.throttling, ("/api/v1/login", "POST"): (0.001, 1)}
    recorder = Recorder()
    server, client = _gateway({"throttling": limits}, {"AuthFunction": recorder}, throttling=True)
    try:
        first = client.post("/login", json={}, headers=BROWSER)
        second = client.post("/login", json={}, headers=BROWSER)
        other_route = client.post("/register", json={}, headers=BROWSER)  # its own bucket
    finally:
        server.shutdown()
        server.server_close()
    # Then the second sign-in never reaches the function and is the THROTTLED entry; other routes still pass
    assert (first.status_code, other_route.status_code) == (200, 200)
    assert_answer_is_the_templates(second, "THROTTLED", BROWSER)
    assert len(recorder.events) == 2
