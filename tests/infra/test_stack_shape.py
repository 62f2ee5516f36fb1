"""The names, build settings and deploy configuration that other code and the operator's commands rely on."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.infra.template_model import Template, functions, props, resources_of, target

FIXED_FUNCTIONS = {
    "AuthFunction": ("../functions/auth", "sentrix_auth.api.handler"),
    "AuthorizerFunction": ("../functions/auth", "sentrix_auth.authorizer.handler"),
    "UploadFunction": ("../functions/upload", "sentrix_upload.api.handler"),
    "DetectFunction": ("../functions/detect", "sentrix_detect.handler.handler"),
    "ReportFunction": ("../functions/report", "sentrix_report.api.handler"),
    "MigrateFunction": ("../functions/migrate", "sentrix_migrate.handler.handler"),
}
OUTPUTS = {"ApiUrl", "ImagesBucketName", "DetectQueueUrl", "DetectDeadLetterQueueUrl", "AlarmTopicArn"}


def test_functions_keep_their_code_and_handlers(template: Template) -> None:
    # Given the SAM functions (later issues may add more)
    declared = {name: (props(fn).get("CodeUri"), props(fn).get("Handler")) for name, fn in functions(template).items()}

    # Then the ones other code relies on keep their logical id, code directory and handler
    assert {name: declared.get(name) for name in FIXED_FUNCTIONS} == FIXED_FUNCTIONS


@pytest.mark.parametrize("name", sorted(FIXED_FUNCTIONS))
def test_handler_module_exists(repo_root: Path, name: str) -> None:
    # Given a function's CodeUri and Handler (relative to infra/)
    code_uri, handler = FIXED_FUNCTIONS[name]
    module = handler.rsplit(".", 1)[0]

    # Then the module Lambda will import is in that directory
    assert (repo_root / "infra" / code_uri / (module.replace(".", "/") + ".py")).is_file()


def test_layers_are_built_by_their_makefiles(template: Template, repo_root: Path) -> None:
    # Given the layers / Then each is built by its own Makefile (bytecode, trimmed) from its requirements.txt
    layers = resources_of(template, "AWS::Serverless::LayerVersion")
    assert {"SharedLayer", "ImagingLayer", "ReportLayer"} <= set(layers)
    for name, layer in layers.items():
        directory = repo_root / "infra" / props(layer)["ContentUri"]
        assert layer["Metadata"]["BuildMethod"] == "makefile"
        assert (directory / "requirements.txt").is_file()
        assert f"build-{name}:" in (directory / "Makefile").read_text()


def test_functions_are_built_by_the_shared_makefile(template: Template, repo_root: Path) -> None:
    # Given the functions / Then each is built (compiled) by a target of infra/build/Makefile
    makefile = (repo_root / "infra" / "build" / "Makefile").read_text()
    for name, function in functions(template).items():
        assert function["Metadata"]["BuildMethod"] == "makefile"
        assert function["Metadata"]["ContextPath"] == "build"
        assert f"build-{name}" in makefile


def test_detect_consumes_its_queue_as_specified(template: Template) -> None:
    # Given the detect function's SQS event / Then batches are small and concurrency is bounded
    event = template["Resources"]["DetectFunction"]["Properties"]["Events"]["DetectQueueMessages"]["Properties"]
    assert target(event["Queue"]) == "DetectQueue"
    assert event["BatchSize"] == 5
    assert event["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "DetectMaxConcurrency"}


def test_outputs_name_what_operators_need(template: Template) -> None:
    assert set(template["Outputs"]) >= OUTPUTS


def test_yolo_url_has_no_default(template: Template) -> None:
    # A stack deployed with a placeholder YOLO URL would accept uploads and fail every detection.
    assert "Default" not in template["Parameters"]["YoloServiceUrl"]


# --- samconfig.toml ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def samconfig(repo_root: Path) -> dict[str, Any]:
    return tomllib.loads((repo_root / "samconfig.toml").read_text(encoding="utf-8"))


def _overrides(samconfig: dict[str, Any], env: str) -> dict[str, str]:
    text = samconfig[env]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in text.split())


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_samconfig_environments_deploy_the_built_template(samconfig: dict[str, Any], env: str) -> None:
    # Given an environment of samconfig.toml
    deploy = samconfig[env]["deploy"]["parameters"]

    # Then it deploys the built template (bytecode and all) to its own stack, with its own stage
    assert samconfig[env]["global"]["parameters"]["stack_name"] == f"sentrix-{env}"
    assert deploy["template_file"] == ".aws-sam/build/template.yaml"
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert _overrides(samconfig, env)["Stage"] == env


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_samconfig_overrides_only_declared_parameters(template: Template, samconfig: dict[str, Any], env: str) -> None:
    # SAM passes unknown names to CloudFormation, which refuses the whole deployment.
    assert set(_overrides(samconfig, env)) <= set(template["Parameters"])


def test_prod_confirms_changesets_and_keeps_logs_longer(samconfig: dict[str, Any]) -> None:
    assert samconfig["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert int(_overrides(samconfig, "prod")["LogRetentionDays"]) > int(
        _overrides(samconfig, "dev").get("LogRetentionDays", 30)
    )


def test_make_deploy_merges_samconfig_operator_values_and_a_fresh_deployment_id(
    repo_root: Path, samconfig: dict[str, Any], tmp_path: Path
) -> None:
    # Given a build to deploy and the operator's values for prod
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "template.yaml").write_text("{}")
    env = {**os.environ, "SAM_BUILD_ROOT": str(tmp_path)}

    # When scripts/sam.sh prepares the deployment (dry run: no AWS here)
    command = subprocess.run(
        ["bash", "scripts/sam.sh", "deploy", "--config-env", "prod", "--dry-run", "YoloServiceUrl=https://yolo.test"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout.split()

    # Then sam deploy gets the built template and samconfig's values, then the operator's, then a DeploymentId
    assert command[:2] == ["sam", "deploy"]
    assert command[command.index("--template-file") + 1] == str(tmp_path / "build" / "template.yaml")
    overrides = command[command.index("--parameter-overrides") + 1 :]
    configured = samconfig["prod"]["deploy"]["parameters"]["parameter_overrides"].split()
    assert overrides[: len(configured)] == configured
    assert overrides[len(configured)] == "YoloServiceUrl=https://yolo.test"
    assert overrides[-1].startswith("DeploymentId=20")
