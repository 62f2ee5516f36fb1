"""Invariants of the optional YOLO host stack (infra/yolo-host.yaml), each shown failing on a copy broken on
purpose: an internal load balancer only the Sentrix functions reach, imports the main stack exports, an output
URL the main stack's YoloServiceUrl accepts, a container that matches the image and the host's settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sentrix_local.template import load_template
from tests.infra.template_model import DELETE, Edit, Template, apply, policy_statements

REPO = Path(__file__).resolve().parents[2]
HOST = load_template(REPO / "infra" / "yolo-host.yaml")
MAIN = load_template(REPO / "infra" / "template.yaml")
# What an internal ALB's DNS name looks like (internal-<name>-<id>.<region>.elb.amazonaws.com).
SAMPLE_DNS_NAME = "internal-sentr-LoadB-1A2B3C4D5E6F-1234567890.us-east-1.elb.amazonaws.com"


def _resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _imported(value: Any) -> str | None:
    """The export suffix of {"Fn::ImportValue": {"Fn::Sub": "${MainStackName}-X"}} (also inside Fn::Split)."""
    if isinstance(value, dict) and "Fn::Split" in value:
        return _imported(value["Fn::Split"][1])
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        name = value["Fn::ImportValue"].get("Fn::Sub", "")
        return name.removeprefix("${MainStackName}-") if name.startswith("${MainStackName}-") else None
    return None


def _imports(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if (suffix := _imported(node)) is not None:
            found.add(suffix)
        for value in node.values():
            found |= _imports(value)
    elif isinstance(node, list):
        for value in node:
            found |= _imports(value)
    return found


def check_internal_load_balancer(t: Template) -> list[str]:
    problems = []
    for name, lb in _resources(t, "AWS::ElasticLoadBalancingV2::LoadBalancer").items():
        if lb["Properties"].get("Scheme") != "internal":
            problems.append(f"{name}: the load balancer must be internal")
        if _imported(lb["Properties"].get("Subnets")) != "PrivateSubnetIds":
            problems.append(f"{name}: the load balancer must sit in the main stack's private subnets")
    return problems


def check_only_the_functions_reach_the_host(t: Template) -> list[str]:
    problems = []
    for name, group in _resources(t, "AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            if "CidrIp" in rule or "CidrIpv6" in rule:
                problems.append(f"{name}: ingress from an address range ({rule.get('CidrIp') or rule.get('CidrIpv6')})")
    lb_rules = t["Resources"]["LoadBalancerSecurityGroup"]["Properties"].get("SecurityGroupIngress", [])
    if [_imported(r.get("SourceSecurityGroupId")) for r in lb_rules] != ["FunctionSecurityGroupId"]:
        problems.append("LoadBalancerSecurityGroup: only the main stack's function security group may come in")
    task_rules = t["Resources"]["TaskSecurityGroup"]["Properties"].get("SecurityGroupIngress", [])
    if [r.get("SourceSecurityGroupId") for r in task_rules] != [{"Ref": "LoadBalancerSecurityGroup"}]:
        problems.append("TaskSecurityGroup: only the load balancer may reach the tasks")
    return problems


def check_imports_are_exported_by_the_main_stack(t: Template) -> list[str]:
    exported = set()
    for output in MAIN["Outputs"].values():
        name = (output.get("Export") or {}).get("Name")
        if isinstance(name, dict) and str(name.get("Fn::Sub", "")).startswith("${AWS::StackName}-"):
            exported.add(name["Fn::Sub"].removeprefix("${AWS::StackName}-"))
    missing = sorted(_imports(t["Resources"]) - exported)
    return [f"imports {name}, which infra/template.yaml does not export" for name in missing]


def check_url_is_accepted_by_the_main_stack(t: Template) -> list[str]:
    value = t["Outputs"].get("YoloServiceUrl", {}).get("Value", {})
    template = value.get("Fn::Sub") if isinstance(value, dict) else None
    if not isinstance(template, str):
        return ["YoloServiceUrl output missing or not a Fn::Sub"]
    url = template.replace("${LoadBalancer.DNSName}", SAMPLE_DNS_NAME)
    pattern = MAIN["Parameters"]["YoloServiceUrl"]["AllowedPattern"]
    return [] if re.fullmatch(pattern, url) else [f"YoloServiceUrl {url} does not match the main stack's pattern"]


def _exposed_port() -> int:
    return int(re.search(r"^EXPOSE (\d+)$", (REPO / "yolo_host" / "Dockerfile").read_text(), re.M).group(1))


def check_container_matches_the_image(t: Template) -> list[str]:
    from yolo_host.settings import HostSettings

    problems = []
    port = _exposed_port()
    [container] = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    if [m["ContainerPort"] for m in container["PortMappings"]] != [port]:
        problems.append(f"container port is not the image's {port}")
    target = t["Resources"]["TargetGroup"]["Properties"]
    if (target.get("Port"), target.get("HealthCheckPath")) != (port, "/health"):
        problems.append("the target group must check /health on the image's port")
    known = {f"YOLO_HOST_{name.upper()}" for name in HostSettings.model_fields}
    for variable in container.get("Environment", []):
        if variable["Name"] not in known:
            problems.append(f"{variable['Name']} is not a setting of the host")
    if "YOLO_HOST_MODEL" not in {v["Name"] for v in container.get("Environment", [])}:
        problems.append("YOLO_HOST_MODEL is not set")
    return problems


def check_task_reads_only_its_model(t: Template) -> list[str]:
    role = t["Resources"]["TaskRole"]["Properties"]
    statements = [s for _, s in policy_statements(role.get("Policies", []), "TaskRole")]
    expected = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ModelBucket}/${ModelKey}"}
    wrong = [s for s in statements if s.get("Action") != "s3:GetObject" or s.get("Resource") != expected]
    return [f"TaskRole grants more than reading the model: {s}" for s in wrong] or (
        [] if statements else ["TaskRole cannot read the model"]
    )


CHECKS: list[Callable[[Template], list[str]]] = [
    check_internal_load_balancer,
    check_only_the_functions_reach_the_host,
    check_imports_are_exported_by_the_main_stack,
    check_url_is_accepted_by_the_main_stack,
    check_container_matches_the_image,
    check_task_reads_only_its_model,
]

_LB = "Resources.LoadBalancer.Properties"
_CONTAINER = "Resources.TaskDefinition.Properties.ContainerDefinitions.0"
BREAKAGES: list[tuple[Callable[[Template], list[str]], list[Edit], str]] = [
    (check_internal_load_balancer, [(f"{_LB}.Scheme", "internet-facing")], "must be internal"),
    (check_internal_load_balancer, [(f"{_LB}.Subnets", ["subnet-0123"])], "private subnets"),
    (
        check_only_the_functions_reach_the_host,
        [
            ("Resources.LoadBalancerSecurityGroup.Properties.SecurityGroupIngress.0.SourceSecurityGroupId", DELETE),
            ("Resources.LoadBalancerSecurityGroup.Properties.SecurityGroupIngress.0.CidrIp", "0.0.0.0/0"),
        ],
        "ingress from an address range (0.0.0.0/0)",
    ),
    (
        check_only_the_functions_reach_the_host,
        [("Resources.TaskSecurityGroup.Properties.SecurityGroupIngress.0.SourceSecurityGroupId", "sg-0123")],
        "only the load balancer may reach the tasks",
    ),
    (
        check_imports_are_exported_by_the_main_stack,
        [(f"{_LB}.Subnets", {"Fn::Split": [",", {"Fn::ImportValue": {"Fn::Sub": "${MainStackName}-PublicSubnets"}}]})],
        "imports PublicSubnets",
    ),
    (
        check_url_is_accepted_by_the_main_stack,
        [("Outputs.YoloServiceUrl.Value", {"Fn::Sub": "http://${LoadBalancer.DNSName}.example.com"})],
        "does not match the main stack's pattern",
    ),
    (check_container_matches_the_image, [(f"{_CONTAINER}.PortMappings.0.ContainerPort", 80)], "container port"),
    (check_container_matches_the_image, [(f"{_CONTAINER}.Environment.0.Name", "YOLO_MODEL")], "YOLO_MODEL is not"),
    (check_container_matches_the_image, [("Resources.TargetGroup.Properties.HealthCheckPath", "/")], "/health"),
    (
        check_task_reads_only_its_model,
        [("Resources.TaskRole.Properties.Policies.0.PolicyDocument.Statement.0.Resource", "*")],
        "grants more than reading the model",
    ),
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_stack_keeps_the_invariant(check):
    assert check(HOST) == []


@pytest.mark.parametrize(
    ("check", "edits", "expected"), BREAKAGES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(BREAKAGES)]
)
def test_the_check_reports_a_broken_copy(check, edits, expected):
    problems = check(apply(HOST, edits))

    assert any(expected in problem for problem in problems), problems


def test_every_check_has_a_breakage():
    assert {c.__name__ for c in CHECKS} == {c.__name__ for c, _, _ in BREAKAGES}


def test_the_main_stack_exports_what_the_host_imports_under_its_own_name():
    outputs = MAIN["Outputs"]
    for name in ("VpcId", "PrivateSubnetIds", "FunctionSecurityGroupId"):
        assert outputs[name]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}


def test_validate_lints_the_host_stack():
    assert (
        "cfn-lint --append-rules cfn_lint_serverless.rules -- infra/yolo-host.yaml"
        in (REPO / "scripts" / "sam.sh").read_text()
    )
