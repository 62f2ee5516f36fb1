"""The functions' IAM policies against the AWS calls their code can make (tests/infra/iam_usage.py).

The template check itself runs with the other invariants (test_invariants.py) and is broken on purpose in
breakages_iam.py; here: the scan finds the calls the code makes, and a call added without a policy is reported.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.infra.code_calls import ROOT, Program
from tests.infra.iam_usage import USES, calls_of, check_iam_matches_code
from tests.infra.template_model import Template


def found(template: Template, name: str) -> set[tuple[str, str, str]]:
    return {(c.service, c.operation, c.where.split(":")[0]) for c in calls_of(template, name) if c.certain}


def test_the_scan_finds_the_detect_functions_s3_calls(template):
    assert {
        ("s3", "get_object", "sentrix_detect.adapters.objects"),
        ("s3", "put_object", "sentrix_detect.adapters.objects"),
        ("s3", "delete_object", "sentrix_detect.adapters.objects"),
        ("s3", "put_object_tagging", "sentrix_detect.adapters.objects"),
        ("secretsmanager", "get_secret", "sentrix.db.engine"),
        ("sqs", "change_message_visibility", "sentrix_detect.adapters.queue"),
    } == found(template, "DetectFunction")


def test_the_authorizer_only_reads_its_keys(template):
    assert found(template, "AuthorizerFunction") == {
        ("secretsmanager", "get_secret_value", "sentrix.tokens"),
        ("secretsmanager", "get_secret_value", "sentrix_auth.adapters.supabase_tokens"),
    }


def test_only_routed_routes_count(template):
    # Report and auth include the shared health router, but the template routes /health/ready to upload only:
    # HeadBucket (s3:ListBucket on the whole bucket) is upload's alone.
    assert ("s3", "head_bucket", "sentrix.adapters.storage") in found(template, "UploadFunction")
    assert not any(
        op == "head_bucket" for _, op, _ in found(template, "ReportFunction") | found(template, "AuthFunction")
    )


def test_auth_deletes_photos_through_the_shared_store(template):
    assert ("s3", "delete_objects", "sentrix.adapters.storage") in found(template, "AuthFunction")
    assert not any(op in ("get_object", "put_object", "head_object") for _, op, _ in found(template, "AuthFunction"))


def fake_detect(tmp_path: Path, body: str) -> list:
    """The detect function with one module more: its handler calls `body` first, then the real handler."""
    package = tmp_path / "fake_detect"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text(
        textwrap.dedent(
            """
            from sentrix.adapters.aws import client
            from sentrix_detect.handler import handler as detect_handler


            def handler(event, context):
                {body}
                return detect_handler(event, context)
            """
        ).format(body=body)
    )
    return Program(
        tmp_path, "fake_detect.handler.handler", None, extra=[ROOT / "functions" / "detect"]
    ).reachable_calls()


def test_a_new_call_without_a_place_in_uses_is_reported(template, tmp_path):
    calls = fake_detect(tmp_path, 'client("s3").list_objects_v2(Bucket="b", Prefix="incoming/")')
    violations = check_iam_matches_code(template, {"DetectFunction": calls})
    assert any("DetectFunction: needs s3:ListBucket (fake_detect.handler:" in v for v in violations), violations


def test_a_new_call_placed_in_uses_but_not_granted_is_reported(template, tmp_path, monkeypatch):
    # Listing the whole bucket: detect may list only incoming/ and originals/
    calls = fake_detect(tmp_path, 'client("s3").list_objects_v2(Bucket="b")')
    monkeypatch.setitem(USES, "DetectFunction", {**USES["DetectFunction"], "s3:ListBucket": ("IMAGES_BUCKET/",)})
    violations = check_iam_matches_code(template, {"DetectFunction": calls})
    assert "DetectFunction: needs s3:ListBucket on IMAGES_BUCKET/; its policies do not allow it" in violations


def test_a_call_with_no_known_action_is_reported(template, tmp_path):
    calls = fake_detect(tmp_path, 'client("s3").get_bucket_policy(Bucket="b")')
    violations = check_iam_matches_code(template, {"DetectFunction": calls})
    assert any("calls s3.get_bucket_policy, not in OPERATIONS" in v for v in violations), violations


@pytest.mark.parametrize("receiver", ["queue", "thing"])
def test_an_operation_name_on_something_else_must_be_explained(template, tmp_path, receiver):
    calls = fake_detect(tmp_path, f"{receiver} = object(); {receiver}.send_message('x')")
    violations = check_iam_matches_code(template, {"DetectFunction": calls})
    assert any("calls .send_message() like a sqs client" in v for v in violations), violations


def test_the_real_code_and_template_agree(template):
    assert check_iam_matches_code(template) == []
