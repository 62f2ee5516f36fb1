"""Reading infra/template.yaml as parsed by sentrix_local.template.load_template: small, literal helpers.

The template keeps CloudFormation's long forms ({"Ref": x}, {"Fn::GetAtt": [x, attr]}, {"Fn::If": [...]});
these helpers resolve only what the invariants need and return None where a value cannot be known offline.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from sentrix_local.template import ref_target

Template = dict[str, Any]

SAM_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
SQS_QUEUE = "AWS::SQS::Queue"
# Lambda's default when neither the function nor Globals set a timeout.
DEFAULT_TIMEOUT_S = 3


def resources_of(template: Template, *types: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template.get("Resources", {}).items() if res.get("Type") in types}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties") or {}


target = ref_target  # the logical id behind a Ref or GetAtt, as the local stack reads it


def text(value: Any) -> str | None:
    """A literal string, or the pattern of a string-form Fn::Sub (so two Subs compare as text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return value["Fn::Sub"]
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def number(template: Template, value: Any) -> int | None:
    """An int from a literal or from a {"Ref": parameter} with a Default; None if it cannot be known."""
    if isinstance(value, dict) and "Ref" in value:
        value = template.get("Parameters", {}).get(value["Ref"], {}).get("Default")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def branches(value: Any) -> list[Any]:
    """Both outcomes of an {"Fn::If": [condition, a, b]} (recursively), or [value] for anything else."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, when_true, when_false = value["Fn::If"]
        return branches(when_true) + branches(when_false)
    return [value]


def references(node: Any) -> set[str]:
    """Every logical id or parameter that `node` refers to, through Ref, GetAtt and ${...} in Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            found.add(node["Ref"].split(".", 1)[0])  # `Function.Alias` (SAM) is the function's
        if "Fn::GetAtt" in node:
            found.add(node["Fn::GetAtt"][0])
        sub = node.get("Fn::Sub")
        pattern = sub if isinstance(sub, str) else (sub[0] if isinstance(sub, list) and sub else None)
        if isinstance(pattern, str):
            for piece in pattern.split("${")[1:]:
                found.add(piece.split("}", 1)[0].split(".", 1)[0])
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def functions(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of(template, SAM_FUNCTION, LAMBDA_FUNCTION)


def globals_function(template: Template) -> dict[str, Any]:
    return (template.get("Globals") or {}).get("Function") or {}


def function_setting(template: Template, name: str, key: str, default: Any = None) -> Any:
    """A function property, falling back to Globals.Function the way SAM does."""
    function = template["Resources"][name]
    if key in props(function):
        return props(function)[key]
    if function.get("Type") == SAM_FUNCTION:
        return globals_function(template).get(key, default)
    return default


def environment(template: Template, name: str) -> dict[str, Any]:
    """A SAM function's environment variables: Globals' merged with its own, as SAM merges them."""
    merged = dict(((globals_function(template).get("Environment") or {}).get("Variables")) or {})
    merged.update(((props(template["Resources"][name]).get("Environment") or {}).get("Variables")) or {})
    return merged


def layers_of(template: Template, name: str) -> list[str]:
    """The layers a SAM function gets: Globals' first, then its own (SAM concatenates the two lists)."""
    own = props(template["Resources"][name]).get("Layers") or []
    return [target(layer) or str(layer) for layer in [*(globals_function(template).get("Layers") or []), *own]]


def depends_on(resource: dict[str, Any]) -> list[str]:
    return as_list(resource.get("DependsOn"))


def sqs_consumers(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, queue, event source properties) for every SQS event and SQS event source mapping."""
    queues = resources_of(template, SQS_QUEUE)
    for name, function in resources_of(template, SAM_FUNCTION).items():
        for event in (props(function).get("Events") or {}).values():
            if event.get("Type") == "SQS":
                yield name, target(event["Properties"].get("Queue")) or "?", event["Properties"]
    for mapping in resources_of(template, "AWS::Lambda::EventSourceMapping").values():
        queue = target(props(mapping).get("EventSourceArn"))
        if queue in queues:
            yield target(props(mapping).get("FunctionName")) or "?", queue, props(mapping)


def dead_letter_queues(template: Template) -> set[str]:
    """Queues that another queue's RedrivePolicy (or a function's DeadLetterQueue) sends messages to."""
    found = set()
    for queue in resources_of(template, SQS_QUEUE).values():
        dlq = target((props(queue).get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
        if dlq:
            found.add(dlq)
    for function in resources_of(template, SAM_FUNCTION).values():
        config = props(function).get("DeadLetterQueue") or {}
        if config.get("Type") == "SQS" and target(config.get("TargetArn")):
            found.add(target(config.get("TargetArn")))
        # Asynchronous invocations (a schedule's) that fail after Lambda's retries, and events EventBridge
        # could not deliver.
        failure = ((props(function).get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure")
        if isinstance(failure, dict) and failure.get("Type") == "SQS" and target(failure.get("Destination")):
            found.add(target(failure.get("Destination")))
        for event in (props(function).get("Events") or {}).values():
            dead = (event.get("Properties") or {}).get("DeadLetterConfig") or {}
            if isinstance(dead, dict) and target(dead.get("Arn")):
                found.add(target(dead.get("Arn")))
    return found


def policy_statements(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement anywhere under `node` (roles, SAM inline policies, bucket and queue policies)."""
    if isinstance(node, dict):
        if "Statement" in node:
            for statement in as_list(node["Statement"]):
                if isinstance(statement, dict):
                    yield where, statement
        for key, value in node.items():
            yield from policy_statements(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from policy_statements(value, f"{where}[{index}]")


def secrets_readable_by(template: Template, name: str) -> set[str]:
    """Logical ids/parameters of the secrets a SAM function may GetSecretValue, however it is granted.

    Grants come as SAM policy templates (AWSSecretsManagerGetSecretValuePolicy), inline statements, or a
    managed policy of this template referenced from Policies; !If branches count as grants.
    """
    managed = resources_of(template, "AWS::IAM::ManagedPolicy")
    found: set[str] = set()
    for policy in [p for item in as_list(props(template["Resources"][name]).get("Policies")) for p in branches(item)]:
        if isinstance(policy, dict) and "AWSSecretsManagerGetSecretValuePolicy" in policy:
            arn = policy["AWSSecretsManagerGetSecretValuePolicy"].get("SecretArn")
            found |= {ref for branch in branches(arn) for ref in references(branch)}
            continue
        documents = [props(managed[target(policy)]).get("PolicyDocument")] if target(policy) in managed else [policy]
        for _, statement in policy_statements(documents):
            if statement.get("Effect", "Allow") == "Allow" and "secretsmanager:GetSecretValue" in as_list(
                statement.get("Action")
            ):
                found |= {ref for branch in branches(statement.get("Resource")) for ref in references(branch)}
    return found


def api_events(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, event name, properties) for every Api event."""
    for name, function in resources_of(template, SAM_FUNCTION).items():
        for event_name, event in (props(function).get("Events") or {}).items():
            if event.get("Type") == "Api":
                yield name, event_name, event.get("Properties") or {}


DELETE = object()
Edit = tuple[str, Any]


def apply(template: Template, edits: list[Edit]) -> Template:
    """A deep copy of `template` with each edit applied; a path step made of digits indexes a list."""
    broken = copy.deepcopy(template)
    for path, value in edits:
        *parents, last = [int(step) if step.isdigit() else step for step in path.split(".")]
        node: Any = broken
        for step in parents:
            node = node[step]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return broken
