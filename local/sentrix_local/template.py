"""Read infra/template.yaml: the one description of routes, functions, bucket and queues the local stack uses."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"

_SHORT_TAGS = (
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "If",
    "Equals",
    "Select",
    "Join",
    "Split",
    "FindInMap",
    "Not",
    "And",
    "Or",
    "Base64",
    "Cidr",
    "ImportValue",
    "GetAZs",
    "Transform",
)


class CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation short tags into their long-form dicts."""


def _make_constructor(tag: str):
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag in _SHORT_TAGS:
    CfnLoader.add_constructor(f"!{_tag}", _make_constructor(_tag))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template into plain dicts."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader derives from SafeLoader


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    authorized: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    code_dir: Path
    timeout: int
    environment: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    visibility_timeout: int
    max_receive_count: int | None
    dead_letter_queue: str | None
    consumer: str | None
    batch_size: int


@dataclass(frozen=True)
class NotificationSpec:
    bucket: str
    queue: str
    events: tuple[str, ...]
    prefix: str


@dataclass(frozen=True)
class GatewayResponseSpec:
    """One GatewayResponses entry: what API Gateway answers itself for a response type."""

    status: int | None
    headers: dict[str, str]
    templates: dict[str, str]


@dataclass(frozen=True)
class ApiSpec:
    """What the REST API itself does before (or instead of) calling a function."""

    stage: str
    binary_media_types: tuple[str, ...]
    cors: dict[str, str] | None
    gateway_responses: dict[str, GatewayResponseSpec]
    # MethodSettings throttling: (path or "*", method or "*") -> (rate per second, burst), parameter defaults resolved.
    throttling: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class StackSpec:
    functions: dict[str, FunctionSpec]
    routes: tuple[Route, ...]
    authorizer_function: str | None
    buckets: tuple[str, ...]
    queues: dict[str, QueueSpec]
    notifications: tuple[NotificationSpec, ...]
    api: ApiSpec | None = None
    topics: tuple[str, ...] = ()  # SNS topics (logical ids)


def ref_target(value: Any) -> str | None:
    """The logical id behind {"Ref": id} or {"Fn::GetAtt": [id, attr]}, else None.

    SAM's `!Ref Function.Alias` (the alias AutoPublishAlias keeps on the function's latest version, where
    SnapStart applies) is the function itself here: locally there are no versions, aliases or SnapStart.
    """
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"].split(".", 1)[0] if isinstance(value["Ref"], str) else value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def _api_routes(resources: dict[str, Any], api_default_auth: dict[str, bool]) -> list[Route]:
    routes = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            api = ref_target(props.get("RestApiId"))
            authorizer = (props.get("Auth") or {}).get("Authorizer")
            authorized = api_default_auth.get(api or "", False) if authorizer is None else authorizer != "NONE"
            routes.append(Route(props["Method"].upper(), props["Path"], logical_id, authorized))
    return routes


def _authorizer(resources: dict[str, Any]) -> tuple[dict[str, bool], str | None]:
    default_auth: dict[str, bool] = {}
    authorizer_function = None
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        auth = resource.get("Properties", {}).get("Auth") or {}
        default = auth.get("DefaultAuthorizer")
        default_auth[logical_id] = bool(default) and default != "NONE"
        for spec in (auth.get("Authorizers") or {}).values():
            authorizer_function = ref_target(spec.get("FunctionArn")) or authorizer_function
    return default_auth, authorizer_function


def _queues(resources: dict[str, Any]) -> dict[str, QueueSpec]:
    consumers: dict[str, tuple[str, int]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "SQS":
                queue = ref_target(event["Properties"]["Queue"])
                consumers[queue] = (logical_id, int(event["Properties"].get("BatchSize", 10)))
    queues = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::SQS::Queue":
            continue
        props = resource.get("Properties", {})
        redrive = props.get("RedrivePolicy") or {}
        consumer, batch = consumers.get(logical_id, (None, 10))
        queues[logical_id] = QueueSpec(
            logical_id=logical_id,
            visibility_timeout=int(props.get("VisibilityTimeout", 30)),
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
            dead_letter_queue=ref_target(redrive.get("deadLetterTargetArn")) if redrive else None,
            consumer=consumer,
            batch_size=batch,
        )
    return queues


def _notifications(resources: dict[str, Any]) -> list[NotificationSpec]:
    found = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::S3::Bucket":
            continue
        config = resource.get("Properties", {}).get("NotificationConfiguration") or {}
        for queue_config in config.get("QueueConfigurations") or []:
            rules = ((queue_config.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            prefix = next((r["Value"] for r in rules if r.get("Name", "").lower() == "prefix"), "")
            events = queue_config.get("Event") or queue_config.get("Events")
            events = (events,) if isinstance(events, str) else tuple(events)
            found.append(NotificationSpec(logical_id, ref_target(queue_config["Queue"]), events, prefix))
    return found


def _static(value: Any) -> str | None:
    """A static mapping value as SAM writes it ("'text'"), unquoted; None for any other expression."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return None


def _resolved(value: Any, parameters: dict[str, Any]) -> Any:
    """A literal, or the default of the parameter it references."""
    target = value.get("Ref") if isinstance(value, dict) else None
    return (parameters.get(target) or {}).get("Default") if target else value


def _throttling(settings: list[dict[str, Any]], parameters: dict[str, Any]) -> dict[tuple[str, str], tuple[float, int]]:
    found = {}
    for entry in settings:
        rate = _resolved(entry.get("ThrottlingRateLimit"), parameters)
        burst = _resolved(entry.get("ThrottlingBurstLimit"), parameters)
        if rate is None or burst is None:
            continue
        # ResourcePath "/*" is the whole stage; otherwise "/" then the path with each "/" written "~1".
        path = entry.get("ResourcePath", "/*")
        path = "*" if path == "/*" else path[1:].replace("~1", "/")
        found[(path, str(entry.get("HttpMethod", "*")).upper())] = (float(rate), int(burst))
    return found


def _api(resources: dict[str, Any], parameters: dict[str, Any]) -> ApiSpec | None:
    apis = [r.get("Properties", {}) for r in resources.values() if r.get("Type") == "AWS::Serverless::Api"]
    if not apis:
        return None
    props = apis[0]
    cors = props.get("Cors")
    if isinstance(cors, str):  # SAM's shorthand: just the allowed origin
        cors = {"AllowOrigin": cors}
    responses = {}
    for kind, entry in (props.get("GatewayResponses") or {}).items():
        params = entry.get("ResponseParameters") or {}
        responses[kind] = GatewayResponseSpec(
            status=int(entry["StatusCode"]) if "StatusCode" in entry else None,
            # Kept as written: static values quoted, or a mapping such as method.request.header.Origin.
            headers={k: str(v) for k, v in (params.get("Headers") or {}).items()},
            templates=dict(entry.get("ResponseTemplates") or {}),
        )
    return ApiSpec(
        stage=str(props.get("StageName", "v1")),
        binary_media_types=tuple(str(t).replace("~1", "/") for t in props.get("BinaryMediaTypes") or ()),
        cors={k: str(v) for k, v in cors.items()} if cors else None,
        gateway_responses=responses,
        throttling=_throttling(props.get("MethodSettings") or [], parameters),
    )


@functools.cache
def stack_spec(path: Path = TEMPLATE_PATH) -> StackSpec:
    """Everything the local stack needs to know about the template, resolved once."""
    template = load_template(path)
    resources = template["Resources"]
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    functions = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        env = dict(((globals_fn.get("Environment") or {}).get("Variables")) or {})
        env.update(((props.get("Environment") or {}).get("Variables")) or {})
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=props["Handler"],
            code_dir=(path.parent / props["CodeUri"]).resolve(),
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            environment=env,
        )
    default_auth, authorizer_function = _authorizer(resources)
    return StackSpec(
        functions=functions,
        routes=tuple(_api_routes(resources, default_auth)),
        authorizer_function=authorizer_function,
        buckets=tuple(k for k, v in resources.items() if v.get("Type") == "AWS::S3::Bucket"),
        queues=_queues(resources),
        notifications=tuple(_notifications(resources)),
        api=_api(resources, template.get("Parameters") or {}),
        topics=tuple(k for k, v in resources.items() if v.get("Type") == "AWS::SNS::Topic"),
    )
