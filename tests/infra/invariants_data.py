"""Invariants of the data plane under the functions: the database, its proxy, and the network to reach them.

Same shape as invariants.py: `check_*(template) -> list[str]`, empty when the invariant holds.
"""

from __future__ import annotations

from typing import Any

from tests.infra.template_model import (
    SAM_FUNCTION,
    Template,
    as_list,
    branches,
    environment,
    function_setting,
    props,
    references,
    resources_of,
    target,
    text,
)

POSTGRES_PORT = 5432
PROD_CONDITION = "IsProd"


# --------------------------------------------------------------------------------------------------
# Database
# --------------------------------------------------------------------------------------------------
def _true_on_prod(value: Any) -> bool:
    """True, or !If [IsProd, true, ...]: on in production whatever dev does."""
    if value is True:
        return True
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, _ = value["Fn::If"]
        return condition == PROD_CONDITION and when_true is True
    return False


def check_database_hardening(template: Template) -> list[str]:
    """Encrypted, private, snapshotted on deletion, protected and Multi-AZ on prod; proxies require TLS."""
    violations = []
    secrets = resources_of(template, "AWS::SecretsManager::Secret")
    for name, db in resources_of(template, "AWS::RDS::DBInstance").items():
        p = props(db)
        if p.get("StorageEncrypted") is not True:
            violations.append(f"{name}: storage is not encrypted")
        if p.get("PubliclyAccessible") is not False:
            violations.append(f"{name}: PubliclyAccessible is not explicitly false")
        for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
            if db.get(attribute) not in ("Snapshot", "Retain"):
                violations.append(f"{name}: {attribute} {db.get(attribute)!r} loses the data")
        for setting in ("DeletionProtection", "MultiAZ"):
            if not _true_on_prod(p.get(setting)):
                violations.append(f"{name}: {setting} is not on in production")
        password = text(p.get("MasterUserPassword")) or ""
        if p.get("ManageMasterUserPassword") is not True and not (
            "{{resolve:secretsmanager:" in password and references(p.get("MasterUserPassword")) & set(secrets)
        ):
            violations.append(f"{name}: the master password does not come from a secret of this stack")
    for name, proxy in resources_of(template, "AWS::RDS::DBProxy").items():
        if props(proxy).get("RequireTLS") is not True:
            violations.append(f"{name}: RequireTLS is not true")
    return violations


def _function_security_groups(template: Template) -> set[str]:
    found: set[str] = set()
    for name in resources_of(template, SAM_FUNCTION):
        vpc = function_setting(template, name, "VpcConfig") or {}
        found |= {target(group) for group in as_list(vpc.get("SecurityGroupIds")) if target(group)}
    return found


def _ingress_rules(template: Template, group: str) -> list[dict[str, Any]]:
    """Inline rules of a security group of this template plus SecurityGroupIngress resources aimed at it."""
    rules = list(as_list(props(template["Resources"][group]).get("SecurityGroupIngress")))
    for resource in resources_of(template, "AWS::EC2::SecurityGroupIngress").values():
        if target(props(resource).get("GroupId")) == group:
            rules.append(props(resource))
    return rules


def check_database_network(template: Template) -> list[str]:
    """The proxy admits only the functions, the database only the proxy: TCP 5432 from security groups."""
    violations = []
    function_groups = _function_security_groups(template)
    proxy_groups = {
        target(group)
        for proxy in resources_of(template, "AWS::RDS::DBProxy").values()
        for group in as_list(props(proxy).get("VpcSecurityGroupIds"))
    }
    database_groups = {
        target(group)
        for db in resources_of(template, "AWS::RDS::DBInstance").values()
        for group in as_list(props(db).get("VPCSecurityGroups"))
    }
    if resources_of(template, "AWS::RDS::DBInstance") and not proxy_groups:
        violations.append("the database has no RDS Proxy in front of it")
    for groups, allowed, what in (
        (proxy_groups, function_groups, "proxy"),
        (database_groups, proxy_groups, "database"),
    ):
        for group in sorted(g for g in groups if g):
            rules = _ingress_rules(template, group)
            if not rules:
                violations.append(f"{group} ({what}): admits nobody")
            for rule in rules:
                source = target(rule.get("SourceSecurityGroupId"))
                ports = (rule.get("IpProtocol"), rule.get("FromPort"), rule.get("ToPort"))
                if ports != ("tcp", POSTGRES_PORT, POSTGRES_PORT):
                    violations.append(f"{group} ({what}): opens {ports}, not tcp {POSTGRES_PORT} only")
                if rule.get("CidrIp") or rule.get("CidrIpv6") or source not in allowed:
                    violations.append(f"{group} ({what}): admits {source or rule.get('CidrIp')}, not {sorted(allowed)}")
    return violations


def check_functions_reach_database(template: Template) -> list[str]:
    """Every function that reads the database secret runs in the VPC and connects through the proxy."""
    violations = []
    proxies = set(resources_of(template, "AWS::RDS::DBProxy"))
    for name in resources_of(template, SAM_FUNCTION):
        env = environment(template, name)
        if "DB_SECRET_ARN" not in env:
            continue
        vpc = function_setting(template, name, "VpcConfig") or {}
        if not vpc.get("SecurityGroupIds") or not vpc.get("SubnetIds"):
            violations.append(f"{name}: reads the database but runs outside the VPC")
        hosts = {target(branch) for branch in branches(env.get("DB_HOST"))}
        if proxies and not hosts & proxies:
            violations.append(f"{name}: DB_HOST is not the RDS Proxy endpoint")
    return violations


def _role_secrets(template: Template, role: str) -> set[str]:
    """Secrets an IAM role of this template may GetSecretValue (inline policies)."""
    found: set[str] = set()
    for policy in as_list(props(template["Resources"].get(role) or {}).get("Policies")):
        for statement in as_list((policy.get("PolicyDocument") or {}).get("Statement")):
            if statement.get("Effect", "Allow") == "Allow" and "secretsmanager:GetSecretValue" in as_list(
                statement.get("Action")
            ):
                found |= references(statement.get("Resource"))
    return found


def check_proxy_auth(template: Template) -> list[str]:
    """Every database secret of this stack a function logs in with (DB_SECRET_ARN, and DB_APP_SECRET_ARN that
    the migrate function sets) has an auth entry on each proxy, whose role may read it: otherwise the proxy
    refuses that role's logins."""
    secrets = set(resources_of(template, "AWS::SecretsManager::Secret"))
    logins = {
        ref
        for fn in resources_of(template, SAM_FUNCTION)
        for variable in ("DB_SECRET_ARN", "DB_APP_SECRET_ARN")
        for ref in references(environment(template, fn).get(variable))
        if ref in secrets
    }
    violations = []
    for name, proxy in resources_of(template, "AWS::RDS::DBProxy").items():
        p = props(proxy)
        entries = {target(entry.get("SecretArn")) for entry in as_list(p.get("Auth"))}
        role = target(p.get("RoleArn")) or "?"
        readable = _role_secrets(template, role)
        violations += [f"{name}: no auth entry for {secret}" for secret in sorted(logins - entries)]
        violations += [f"{name}: its role {role} may not read {secret}" for secret in sorted(logins - readable)]
    return violations


# --------------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------------
def _created_function_subnets(template: Template) -> set[str]:
    """The stack's own subnets among the functions' SubnetIds (the !If branch that lists Refs)."""
    subnets: set[str] = set()
    for name in resources_of(template, SAM_FUNCTION):
        vpc = function_setting(template, name, "VpcConfig") or {}
        for branch in branches(vpc.get("SubnetIds")):
            if isinstance(branch, list):
                subnets |= {target(subnet) for subnet in branch if target(subnet) in template["Resources"]}
    return subnets


def _endpoint_services(template: Template) -> dict[str, dict[str, Any]]:
    found = {}
    for endpoint in resources_of(template, "AWS::EC2::VPCEndpoint").values():
        service = (text(props(endpoint).get("ServiceName")) or "").rsplit(".", 1)[-1]
        found[service] = props(endpoint)
    return found


def check_vpc_reachability(template: Template) -> list[str]:
    """From the stack's private subnets: S3 by gateway, SQS, Secrets Manager and SNS by private-DNS interface."""
    subnets = _created_function_subnets(template)
    if not subnets:
        return []
    violations = []
    route_tables = {
        target(props(association).get("RouteTableId"))
        for association in resources_of(template, "AWS::EC2::SubnetRouteTableAssociation").values()
        if target(props(association).get("SubnetId")) in subnets
    }
    if len(route_tables) == 0:
        violations.append("the functions' subnets have no route table of this stack")
    endpoints = _endpoint_services(template)
    s3 = endpoints.get("s3")
    if not s3 or s3.get("VpcEndpointType") != "Gateway":
        violations.append("no S3 gateway endpoint")
    elif not route_tables <= {target(t) for t in as_list(s3.get("RouteTableIds"))}:
        violations.append("the S3 gateway endpoint misses a route table of the functions' subnets")
    for service in ("sqs", "secretsmanager", "sns"):
        endpoint = endpoints.get(service)
        if not endpoint or endpoint.get("VpcEndpointType") != "Interface":
            violations.append(f"no {service} interface endpoint")
            continue
        if endpoint.get("PrivateDnsEnabled") is not True:
            violations.append(f"{service} endpoint: PrivateDnsEnabled is not true (SDKs use the public name)")
        if not subnets <= {target(s) for s in as_list(endpoint.get("SubnetIds"))}:
            violations.append(f"{service} endpoint: not in every subnet of the functions")
    for vpc_name, vpc in resources_of(template, "AWS::EC2::VPC").items():
        if props(vpc).get("EnableDnsSupport") is not True or props(vpc).get("EnableDnsHostnames") is not True:
            violations.append(f"{vpc_name}: DNS support/hostnames off, so private DNS endpoints do not resolve")
    return violations
