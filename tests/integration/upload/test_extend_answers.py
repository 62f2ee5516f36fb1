"""POST /detections/extend-validity on a rejected detection: 409 naming its verdict, in the caller's words, and the
detection left as it was (docs/upload.md)."""

from __future__ import annotations

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Detection
from tests.integration.upload.support import call, make_user, seed_analysis
from tests.integration.upload.test_validation import detections_of

pytestmark = pytest.mark.integration

WORDS = {
    None: "A rejected detection has no validity to extend: take the rejection back first",
    "pt": "Uma detecção rejeitada não tem validade para estender: desfaça a rejeição primeiro",
}


@pytest.mark.parametrize("language", [None, "pt"], ids=["stated-none", "pt"])
def test_a_rejected_detection_has_no_validity_to_extend(upload_env, language):
    owner, expert = make_user(), make_user("expert")
    [detection] = detections_of(seed_analysis(owner, classes=(0,)))
    rejected = call("POST", f"/api/v1/detections/{detection.id}/validate", user=expert,
                    body={"validation_status": "validated_negative"})  # fmt: skip
    assert rejected.status == 200, rejected.body
    with session_scope() as session:
        expiry = session.get(Detection, detection.id).expires_at

    answer = call(
        "POST",
        "/api/v1/detections/extend-validity",
        user=expert,
        body={"detection_id": str(detection.id), "extension_days": 5, "reason": "lluvias"},
        headers={"Accept-Language": language} if language else None,
    )

    assert answer.status == 409, answer.body
    assert (answer.error["code"], answer.error["details"]) == ("conflict", {"validation_status": "validated_negative"})
    assert answer.error["message"] == WORDS[language]
    with session_scope() as session:
        after = session.get(Detection, detection.id)
    assert (after.validity_extended_reason, after.expires_at) == (None, expiry)
