"""Schemathesis against docs/openapi.json through the local gateway, over real HTTP, as a user and as an admin.

Every operation of the merged document gets generated requests (valid ones and, where the schema allows,
invalid ones) sent through the in-process API Gateway emulator (the real authorizer, PostGIS, moto's server,
the YOLO stand-in). Every answer must be no 5xx and conform to the document: a documented status code, a
documented content type, a body matching the schema. Path ids are drawn half of the time from seeded rows,
so reads reach real analyses, detections and users instead of only 404s.

A few hand-written requests that generation rarely gets right (sign-up, sign-in and refresh, a real JPEG
through multipart and the public preview, verdicts, a PDF report) go first and must answer their success.

Every answer is checked against the COMMITTED docs/openapi.json (loaded from the file, never from the apps), and
two things are written down here independently of both: the error envelope (ERROR_ENVELOPE) and the fields the
original web client reads (CLIENT_FIELDS). Every operation must answer a 2xx at least once in the run.

Seed: one seed drives the generation (the run's pytest-randomly seed, or SENTRIX_CONTRACT_SEED); it is printed,
and is in every failure message. Replay a failure: `SENTRIX_CONTRACT_SEED=<seed>` (same size), or
`make test SEED=<seed>`. Hypothesis' health checks are on.

Size: SENTRIX_CONTRACT_EXAMPLES generated cases per operation, identity and mode (default 5, the CI size: about
800 requests in a minute).
The full run (≥ 1,000 requests asserted from 12 examples on); `-s` prints the request count, statuses and failures:

    SENTRIX_CONTRACT_EXAMPLES=12 .venv/bin/python -m pytest tests/contract -s
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sentrix_local.openapi import DOCUMENT_PATH
from tests.support.environ import restore_environ, saved_environ
from tests.support.gateway import in_process_gateway
from tests.support.identity import ensure_signing_key

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("SENTRIX_CONTRACT_EXAMPLES", "5"))
FULL_SIZE_EXAMPLES = 12  # from this size on, the run must reach the 1,000 requests
FULL_SIZE_REQUESTS = 1000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUNCTIONS = ("AuthFunction", "UploadFunction", "ReportFunction", "AuthorizerFunction")
# Generous quotas: the fuzzer should reach the handlers' logic, not only the rate limiter's 429.
QUOTAS = {
    "UPLOAD_QUOTA_PER_MINUTE": "100000",
    "UPLOAD_QUOTA_PER_DAY": "100000",
    "UPLOAD_PUBLIC_PREVIEW_PER_MINUTE": "100000",
}


# The error envelope as README.md states it, written here and not read from the apps or the document: a change to
# the envelope must change this test too.
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["id", "code", "status", "message", "type", "timestamp"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "message": {"type": "string", "minLength": 1},
                "title": {"type": ["string", "null"]},
                "type": {"type": "string", "minLength": 1},
                "timestamp": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"},
                "details": {},
            },
        }
    },
}
# The local gateway emulator's own refusal of a token (the cloud's is the envelope, infra/template.yaml).
GATEWAY_REFUSAL = {
    "type": "object",
    "required": ["message"],
    "additionalProperties": False,
    "properties": {"message": {"type": "string"}},
}
_USER = {
    "type": "object",
    "required": ["id", "email", "role"],
    "properties": {"role": {"enum": ["user", "expert", "admin"]}},
}
_SESSION = {
    "type": "object",
    "required": ["access_token", "refresh_token", "token_type", "expires_in", "user"],
    "properties": {"access_token": {"type": "string"}, "token_type": {"const": "bearer"}, "user": _USER},
}
_NEW_PAIR = {  # a refresh answers a new pair, without the user (docs/auth.md)
    "type": "object",
    "required": ["access_token", "refresh_token", "expires_in"],
    "properties": {"access_token": {"type": "string"}, "refresh_token": {"type": "string"}},
}
_POINTS = {
    "type": "array",
    "items": {"type": "object", "required": ["latitude", "longitude", "detectionCount", "riskLevel", "intensity"]},
}
# The fields the original web client reads from a success answer (docs/auth.md, docs/report.md), by operation.
CLIENT_FIELDS: dict[str, dict] = {
    "POST /api/v1/register": _SESSION,
    "POST /api/v1/login": _SESSION,
    "POST /api/v1/refresh": _NEW_PAIR,
    "GET /api/v1/heatmap-data": {
        "type": "object",
        "required": ["data", "high_risk_count", "medium_risk_count", "low_risk_count", "breeding_type_counts"],
        "properties": {"data": _POINTS},
    },
}


def run_seed(config: pytest.Config) -> int:
    """SENTRIX_CONTRACT_SEED, else the run's pytest-randomly seed, else a fresh one (printed either way)."""
    from tests.conftest import run_seed as pytest_run_seed

    explicit = os.environ.get("SENTRIX_CONTRACT_SEED")
    if explicit:
        return int(explicit)
    chosen = pytest_run_seed(config)
    return chosen if chosen is not None else random.SystemRandom().getrandbits(32)


@dataclass
class Seeded:
    user_id: uuid.UUID
    admin_id: uuid.UUID
    analyses: list[str]
    detections: list[str]
    disposable_analyses: list[str]
    other_users: list[str]
    user_email: str
    failed_analysis: str
    spare_id: uuid.UUID  # changes its password
    sites: list[str]
    alert: str  # a cluster alert of three confirmed sites


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # "METHOD path [identity] check" -> first message
    failed_requests: int = 0
    refused_tokens: dict[str, str] = field(default_factory=dict)  # 401s despite a fresh token (for the report)
    per_operation: dict[str, Counter] = field(default_factory=dict)
    seed: int | None = None

    def never_2xx(self) -> list[str]:
        return sorted(op for op, seen in self.per_operation.items() if not any(200 <= s < 300 for s in seen))

    def report(self) -> str:
        lines = [
            f"schemathesis contract run (seed {self.seed}, replay: SENTRIX_CONTRACT_SEED={self.seed} "
            f"SENTRIX_CONTRACT_EXAMPLES={EXAMPLES}): {self.requests} requests, {self.failed_requests} failing, "
            f"{sum(n for s, n in self.statuses.items() if s >= 500)} 5xx, {len(self.failures)} distinct failures",
            "statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items())),
        ]
        lines += [f"  {key}: {message}" for key, message in sorted(self.failures.items())]
        lines.append(f"operations never answering 2xx: {self.never_2xx()}")
        if os.environ.get("SENTRIX_CONTRACT_VERBOSE"):
            lines += [f"  {op}: {dict(seen)}" for op, seen in sorted(self.per_operation.items())]
        lines += [f"  401 with a fresh token: {key}: {body}" for key, body in sorted(self.refused_tokens.items())]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def gateway(database_url, aws, yolo_standin) -> Iterator[str]:
    """The template's routes with the real authorizer; the root URL (the document's paths carry /api/v1)."""
    from tests.conftest import reset_caches

    ensure_signing_key()
    saved = saved_environ((*QUOTAS, "AUTH_PROVIDER"))
    os.environ.update({**QUOTAS, "AUTH_PROVIDER": "builtin"})
    reset_caches()
    _clear_function_caches()
    try:
        with in_process_gateway(FUNCTIONS) as url:
            yield url.removesuffix("/api/v1")
    finally:
        restore_environ(saved)
        reset_caches()
        _clear_function_caches()


def _clear_function_caches() -> None:
    from sentrix_upload.settings import get_upload_settings

    get_upload_settings.cache_clear()


@pytest.fixture(scope="module")
def seeded(gateway, database_url, aws) -> Seeded:
    """A user with analyses and detections (located, validated or not), an admin, and users to administer."""

    from sentrix.db.engine import session_scope
    from sentrix.domain.status import AnalysisStatus, ValidationStatus
    from tests.support.identity import create_user
    from tests.support.seed import D, make_analysis, merge_sites, truncate_all

    truncate_all()
    user, admin = create_user(role="user"), create_user(role="admin")
    others = [create_user(role="user") for _ in range(6)]
    spare = create_user(role="user")
    analyses, detections, disposable, sites = [], [], [], []
    verdicts = (ValidationStatus.PENDING, ValidationStatus.VALIDATED_POSITIVE)
    with session_scope() as session:
        for index in range(12):
            located = index % 3 != 0
            analysis = make_analysis(
                session,
                user=user.id,
                latitude=-26.8 + index * 0.001 if located else None,
                longitude=-65.2 - index * 0.001 if located else None,
                detections=[
                    D(index % 4, confidence=0.6 + 0.03 * index),
                    D((index + 1) % 4, validation_status=verdicts[index % 2]),
                ],
                status=AnalysisStatus.FAILED if index == 11 else AnalysisStatus.COMPLETED,
            )
            analyses.append(str(analysis.id))
            detections.extend(str(d.id) for d in analysis.detections)
            if located and index != 11:  # completed ones on their sites, as detect leaves them
                sites.extend(
                    str(i) for i in merge_sites(session, analysis, -26.8 + index * 0.001, -65.2 - index * 0.001)
                )
        for index in range(6):
            disposable.append(str(make_analysis(session, user=user.id, detections=[index % 4]).id))
        make_analysis(session, user=others[0].id, latitude=-26.81, longitude=-65.21, detections=[0, 2])
    alert = seed_alert()
    store_photos(aws)
    return Seeded(
        user.id,
        admin.id,
        analyses,
        detections,
        disposable,
        [str(u.id) for u in others],
        user.email,
        analyses[11],  # the failed one
        spare.id,
        list(dict.fromkeys(sites)),
        alert,
    )


def seed_alert() -> str:
    """Three confirmed sites 50 m apart, and the daily computation that makes them an alert."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from sentrix.db.engine import session_scope
    from sentrix_report.logic.alert_run import compute

    now = datetime.now(UTC)
    with session_scope() as session:
        for metres in (0, 50, 100):
            session.execute(
                text(
                    "INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at, "
                    "confirmed) VALUES (gen_random_uuid(), 'water', 'open', CAST(ST_Project(CAST(ST_SetSRID("
                    "ST_MakePoint(-65.4, -26.6), 4326) AS geography), :m, radians(90)) AS geometry), 15, :now, :now, "
                    "true)"
                ),
                {"m": metres, "now": now},
            )
        (opened,) = compute(session, now).opened
    return str(opened)


def store_photos(aws) -> None:
    """Every seeded analysis gets its photo in the real bucket, as the detect function leaves it."""
    import boto3
    from sqlalchemy import text

    from sentrix.db.engine import get_engine
    from tests.integration.upload.support import jpeg_bytes

    with get_engine().begin() as connection:
        keys = connection.execute(
            text("UPDATE analyses SET image_bucket = :bucket RETURNING image_key"), {"bucket": aws.bucket}
        ).scalars()
        s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
        photo = jpeg_bytes((64, 48))
        for key in keys:
            s3.put_object(Bucket=aws.bucket, Key=key, Body=photo, ContentType="image/jpeg")


def fresh_bearer(user_id: uuid.UUID) -> dict[str, str]:
    """A token minted now from the user's current row (logout everywhere or a password change cut older ones)."""
    from sentrix.db.engine import session_scope
    from sentrix.db.models import User
    from tests.support.identity import access_token

    with session_scope() as session:
        user = session.get(User, user_id)
        session.expunge(user)
    return {"Authorization": f"Bearer {access_token(user)}"}


def id_pool(method: str, path: str, seeded: Seeded) -> list[str]:
    """Seeded ids worth trying in this operation's {id} (deletes get rows of their own)."""
    if path.startswith("/api/v1/analyses/{id}"):
        return seeded.disposable_analyses if method == "DELETE" else seeded.analyses
    if path.startswith("/api/v1/detections/{id}"):
        return seeded.detections
    if path.startswith("/api/v1/users/{id}"):
        return seeded.other_users
    if path.startswith("/api/v1/sites/{id}"):
        return seeded.sites
    return []


def send_and_check(case, label: str, user_id, base_url: str, tally: Tally, session):
    """Send one case (with the caller's token on authorized routes), count it, record what the checks say."""
    method, path = case.operation.method.upper(), case.operation.path
    headers = fresh_bearer(user_id) if case.operation.definition.raw.get("security") else {}
    response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    tally.per_operation.setdefault(f"{method} {path}", Counter())[response.status_code] += 1
    if response.status_code == 401 and headers:
        tally.refused_tokens.setdefault(f"{method} {path} [{label}]", response.text[:200])
    body = response.content[:200].decode("utf-8", errors="replace").replace("\n", " ")  # a PDF is no text
    failed = False
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        failed = True
        for failure in group.exceptions:
            key = f"{method} {path} [{label}] {failure.title} ({response.status_code})"
            tally.failures.setdefault(key, f"{failure.message[:300]} <- {case.formatted_path}: {body}")
    for title, problem in independent_checks(f"{method} {path}", response, gateway_may_refuse=bool(headers)):
        failed = True
        key = f"{method} {path} [{label}] {title} ({response.status_code})"
        tally.failures.setdefault(key, f"{problem[:300]} <- {case.formatted_path}: {body}")
    tally.failed_requests += failed
    return response


def content_type_of(response) -> str:
    """schemathesis' response keeps each header as a list of values, under its name as received."""
    values = {name.lower(): value for name, value in response.headers.items()}.get("content-type") or [""]
    return values[0] if isinstance(values, list) else values


def _first_error(schema: dict, body: Any) -> jsonschema.ValidationError | None:
    return next(jsonschema.Draft202012Validator(schema).iter_errors(body), None)


def independent_checks(operation: str, response, *, gateway_may_refuse: bool) -> list[tuple[str, str]]:
    """What the answer must be by this test's own account: the envelope on an error, the client's fields on success."""
    status = response.status_code
    content_type = content_type_of(response)
    if status >= 400:
        if not content_type.startswith("application/json"):
            return [("error envelope", f"an error answered {content_type!r}, not JSON")]
        body = response.json()
        schemas = [ERROR_ENVELOPE, GATEWAY_REFUSAL] if gateway_may_refuse and status in (401, 403) else [ERROR_ENVELOPE]
        errors = [_first_error(schema, body) for schema in schemas]
        if all(errors):
            return [("error envelope", f"{errors[0].message} at {list(errors[0].absolute_path)}")]
        if "error" in body and body["error"].get("status") != status:
            return [("error envelope", f"error.status {body['error'].get('status')} on an HTTP {status}")]
        return []
    if 200 <= status < 300 and operation in CLIENT_FIELDS:
        error = _first_error(CLIENT_FIELDS[operation], response.json())
        if error is not None:
            return [("original client's fields", f"{error.message} at {list(error.absolute_path)}")]
    return []


def fuzz_operation(operation, mode, identity: str, user_id, base_url, seeded: Seeded, tally: Tally, session) -> None:
    method, path = operation.method.upper(), operation.path
    pool = id_pool(method, path, seeded)
    strategy = operation.as_strategy(generation_mode=mode)

    # The run's seed (printed), no example database: the same seed and size send the same requests again.
    # Health checks stay on (the profile's); no deadline, the requests go over real HTTP.
    @seed(tally.seed)
    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(case=strategy, data=st.data())
    def run(case, data) -> None:
        if pool and case.path_parameters and "id" in case.path_parameters and data.draw(st.booleans()):
            case.path_parameters["id"] = data.draw(st.sampled_from(pool))
        send_and_check(case, f"{identity}/{mode.value}", user_id, base_url, tally, session)

    run()


def has_inputs(operation) -> bool:
    """Whether the operation takes anything a negative case could make invalid (parameters or a body)."""
    # Authorization is the caller's real token here, never generated (with_security_parameters=False)
    headers = [p for p in operation.headers if p.name.lower() != "authorization"]
    # A bare string in the path ({id}) has no invalid value: whatever is in a URL path is a string (the
    # positive cases send arbitrary strings there already)
    path = [p for p in operation.path_parameters if not _any_string(p.definition.get("schema", {}))]
    parameters = (path, operation.query, headers, operation.cookies, operation.body)
    return any(len(group) for group in parameters)


def _any_string(schema: dict) -> bool:
    constraints = {"format", "pattern", "minLength", "maxLength", "enum", "const"}
    return schema.get("type") == "string" and not constraints & set(schema)


@dataclass(frozen=True)
class Known:
    """A request random generation rarely gets right, so the success answers are checked against the document too."""

    method: str
    path: str
    caller: str | None  # "user", "admin", "spare" or None (public)
    expected: int
    case: Callable[[dict[str, Any]], dict[str, Any]]  # state (earlier answers) -> Case arguments


def known_good(seeded: Seeded) -> list[Known]:
    from tests.integration.upload.support import jpeg_bytes
    from tests.support.identity import DEFAULT_PASSWORD

    photo = jpeg_bytes((96, 72))
    multipart = {"media_type": "multipart/form-data", "body": {"file": photo}}
    verdicts = {"detection_ids": seeded.detections[:2], "validation_status": "validated_positive"}
    extension = {"detection_id": seeded.detections[2], "extension_days": 5, "reason": "still there"}
    square = [[-65.3, -26.9], [-65.2, -26.9], [-65.2, -26.8], [-65.3, -26.8], [-65.3, -26.9]]
    territories = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "CONTRACT-1", "name": "Barrio"},
                "geometry": {"type": "Polygon", "coordinates": [square]},
            }
        ],
    }
    new_password = {"current_password": DEFAULT_PASSWORD, "new_password": "an even longer passphrase 456"}
    visit = {
        "territory": "CONTRACT-1",
        "visited_on": "2026-11-03",
        "area": "Manzana 1",
        "team": "Norte",
        "premises": {"visited": 10, "closed": 1, "positive": 1},
        "containers": {"B": {"inspected": 3, "positive": 1}},
    }
    return [
        Known(
            "POST",
            "/api/v1/register",
            None,
            201,
            lambda _: {
                "body": {"email": f"c-{uuid.uuid4().hex[:8]}@example.org", "password": "a long enough passphrase 123"}
            },
        ),
        Known(
            "POST",
            "/api/v1/login",
            None,
            200,
            lambda _: {"body": {"email": seeded.user_email, "password": DEFAULT_PASSWORD}},
        ),
        Known(
            "POST",
            "/api/v1/refresh",
            None,
            200,
            lambda state: {"body": {"refresh_token": state["login"]["refresh_token"]}},
        ),
        Known("POST", "/api/v1/change-password", "spare", 200, lambda _: {"body": new_password}),
        Known(
            "PATCH",
            "/api/v1/users/{id}",
            "admin",
            200,
            lambda _: {"path_parameters": {"id": seeded.other_users[0]}, "body": {"role": "expert"}},
        ),
        Known("GET", "/api/v1/analyses/{id}", "user", 200, lambda _: {"path_parameters": {"id": seeded.analyses[1]}}),
        # A page of the user's own analysis' detections (random ids almost never name one the caller may read)
        Known(
            "GET",
            "/api/v1/analyses/{id}/detections",
            "user",
            200,
            lambda _: {"path_parameters": {"id": seeded.analyses[1]}, "query": {"limit": 10}},
        ),
        # The PDF of the user's own analysis (random ids almost never name one the caller may read)
        Known(
            "GET",
            "/api/v1/analyses/{id}/report",
            "user",
            200,
            lambda _: {"path_parameters": {"id": seeded.analyses[1]}},
        ),
        Known(
            "GET",
            "/api/v1/analyses/{id}/export",
            "user",
            200,
            lambda _: {"path_parameters": {"id": seeded.analyses[1]}, "query": {"format": "csv"}},
        ),
        Known("POST", "/api/v1/analyses/uploads", "user", 201, lambda _: {"body": {"filename": "calle norte.jpg"}}),
        Known("POST", "/api/v1/analyses", "user", 202, lambda _: multipart),
        Known("POST", "/api/v1/analyses/public", None, 200, lambda _: multipart),
        Known(
            "POST",
            "/api/v1/analyses/{id}/retry",
            "user",
            202,
            lambda _: {"path_parameters": {"id": seeded.failed_analysis}},
        ),
        Known(
            "POST",
            "/api/v1/detections/{id}/validate",
            "admin",
            200,
            lambda _: {
                "path_parameters": {"id": seeded.detections[3]},
                "body": {"validation_status": "validated_negative"},
            },
        ),
        # A site seen again (random weather and notes rarely meet a detection the admin may confirm)
        Known(
            "POST",
            "/api/v1/detections/{id}/revalidate",
            "admin",
            200,
            lambda _: {
                "path_parameters": {"id": seeded.detections[4]},
                "query": {"weather_condition": "RAINY"},
                "body": {"validation_notes": "still holding water"},
            },
        ),
        Known("POST", "/api/v1/detections/batch-validate", "admin", 200, lambda _: {"body": verdicts}),
        # The user's own last site (random ids almost never name a site; no verdict above touches its detections:
        # a rejected one would take the user's membership away), and an admin assigning a team to it
        Known("GET", "/api/v1/sites/{id}", "user", 200, lambda _: {"path_parameters": {"id": seeded.sites[-1]}}),
        Known(
            "POST",
            "/api/v1/sites/{id}/actions",
            "admin",
            200,
            lambda _: {"path_parameters": {"id": seeded.sites[-1]}, "body": {"action": "assign", "team": "Norte"}},
        ),
        # An admin imports a neighbourhood (any user reads it back) and starts a presigned territories upload
        Known("POST", "/api/v1/territories", "admin", 200, lambda _: {"body": territories}),
        Known("GET", "/api/v1/territories/{code}", "user", 200, lambda _: {"path_parameters": {"code": "CONTRACT-1"}}),
        Known("POST", "/api/v1/territories/uploads", "admin", 201, lambda _: {}),
        # An admin makes a user an official and scopes them to that neighbourhood
        Known(
            "PATCH",
            "/api/v1/users/{id}",
            "admin",
            200,
            lambda _: {"path_parameters": {"id": seeded.other_users[1]}, "body": {"role": "official"}},
        ),
        Known(
            "PUT",
            "/api/v1/users/{id}/territories",
            "admin",
            200,
            lambda _: {"path_parameters": {"id": seeded.other_users[1]}, "body": {"territories": ["CONTRACT-1"]}},
        ),
        # A cluster alert (random ids never name one; users are 403)
        Known("GET", "/api/v1/alerts/{id}", "admin", 200, lambda _: {"path_parameters": {"id": seeded.alert}}),
        # An admin subscribes a webhook (a public address: no DNS lookup) to that neighbourhood's red level
        Known(
            "POST",
            "/api/v1/subscriptions",
            "admin",
            201,
            lambda _: {
                "body": {
                    "territory": "CONTRACT-1",
                    "channel": "webhook",
                    "target": "https://93.184.215.14/hooks/sentrix",
                    "levels": ["red"],
                }
            },
        ),
        Known("GET", "/api/v1/subscriptions", "admin", 200, lambda _: {}),
        # Remediation figures of that neighbourhood (experts, admins and officials; users are 403)
        Known("GET", "/api/v1/reports/remediation", "admin", 200, lambda _: {"query": {"territory": "CONTRACT-1"}}),
        # Its epidemiological weeks (the same callers; an unknown territory is 404)
        Known(
            "GET", "/api/v1/reports/statistics/weekly", "admin", 200, lambda _: {"query": {"territory": "CONTRACT-1"}}
        ),
        # A field visit in that neighbourhood (random counts rarely add up), read back, listed, and its indices
        Known("POST", "/api/v1/visits", "admin", 201, lambda _: {"body": visit}),
        Known(
            "GET",
            "/api/v1/visits/{id}",
            "admin",
            200,
            lambda state: {"path_parameters": {"id": state.get("visit", {}).get("id", str(uuid.uuid4()))}},
        ),
        Known("GET", "/api/v1/visits", "admin", 200, lambda _: {"query": {"territory": "CONTRACT-1"}}),
        Known(
            "GET",
            "/api/v1/indices",
            "admin",
            200,
            lambda _: {"query": {"territory": "CONTRACT-1", "from": "2026-11-01", "to": "2026-11-30"}},
        ),
        Known("POST", "/api/v1/detections/extend-validity", "admin", 200, lambda _: {"body": extension}),
        Known(
            "POST", "/api/v1/reports/generate", "admin", 200, lambda _: {"body": {"type": "summary", "format": "pdf"}}
        ),
        Known(
            "GET",
            "/api/v1/detections/{id}/validity",
            "user",
            200,
            lambda _: {"path_parameters": {"id": seeded.detections[0]}},
        ),
        # Deletes last, on rows of their own (the fuzzing may try them again: a 404 then)
        Known(
            "DELETE",
            "/api/v1/analyses/{id}",
            "user",
            204,
            lambda _: {"path_parameters": {"id": seeded.disposable_analyses[-1]}},
        ),
        Known(
            "DELETE", "/api/v1/users/{id}", "admin", 200, lambda _: {"path_parameters": {"id": seeded.other_users[-1]}}
        ),
        Known(
            "DELETE",
            "/api/v1/subscriptions/{id}",
            "admin",
            204,
            lambda state: {"path_parameters": {"id": state.get("subscription", str(uuid.uuid4()))}},
        ),
    ]


@pytest.mark.timeout(3600)
def test_every_operation_conforms_and_never_answers_5xx(gateway, seeded, request) -> None:
    # Given the merged document, loaded as a client would read it
    schema = schemathesis.openapi.from_path(str(DOCUMENT_PATH))
    # The caller's real token goes on every request; schemathesis must not generate (or drop) Authorization itself.
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    tally, started = Tally(seed=run_seed(request.config)), time.monotonic()
    print(f"\nschemathesis seed {tally.seed} (replay: SENTRIX_CONTRACT_SEED={tally.seed})")

    by_route = {(op.method.upper(), op.path): op for op in operations}
    callers = {"user": seeded.user_id, "admin": seeded.admin_id, "spare": seeded.spare_id, None: None}
    state: dict[str, Any] = {}
    unexpected: dict[str, str] = {}  # known requests that did not answer their documented success

    with requests.Session() as session:
        # When the requests random generation rarely gets right go first (the fuzzing changes the rows)
        for known in known_good(seeded):
            case = by_route[(known.method, known.path)].Case(**known.case(state))
            response = send_and_check(case, f"{known.caller}/known", callers[known.caller], gateway, tally, session)
            if response.status_code != known.expected:
                unexpected[f"{known.method} {known.path}"] = f"{response.status_code}: {response.text[:300]}"
            if known.path == "/api/v1/login" and response.status_code == 200:
                state["login"] = response.json()
            if (known.method, known.path) == ("POST", "/api/v1/visits") and response.status_code == 201:
                state["visit"] = response.json()
            if (known.method, known.path) == ("POST", "/api/v1/subscriptions") and response.status_code == 201:
                state["subscription"] = response.json()["id"]
        # And every operation is fuzzed as a user and as an admin, valid and invalid inputs
        for identity, user_id in (("user", seeded.user_id), ("admin", seeded.admin_id)):
            for operation in operations:
                # Nothing of an operation without inputs can be made invalid: its valid cases cover it.
                modes = [GenerationMode.POSITIVE] + [GenerationMode.NEGATIVE] * has_inputs(operation)
                for mode in modes:
                    fuzz_operation(operation, mode, identity, user_id, gateway, seeded, tally, session)
    print(f"\n{tally.report()}\n({time.monotonic() - started:.0f} s, {EXAMPLES} examples per operation/identity/mode)")

    # Then nothing answered 5xx or outside the document, the known requests succeeded, and the run had its size
    assert tally.failures == {}, tally.report()
    assert tally.refused_tokens == {}, "the gateway or a function refused a fresh token: the run was not authenticated"
    assert unexpected == {}, f"seed {tally.seed}: {unexpected}"
    assert tally.never_2xx() == [], tally.report()  # every operation shown to work at least once
    assert tally.requests >= 2 * len(operations)
    if EXAMPLES >= FULL_SIZE_EXAMPLES:
        assert tally.requests >= FULL_SIZE_REQUESTS, tally.report()
