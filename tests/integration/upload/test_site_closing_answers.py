"""Verifying a treated site needs evidence (docs/sites.md, "Closing needs verification"): `verify` without an
"after" analysis is 409 with the reason `no_evidence`, worded by the catalogue (`err.site_verify.no_evidence`) in
the caller's language — the sites routes always resolve one: the request's, else the user's setting, else Spanish.
"""

from __future__ import annotations

import pytest

from tests.integration.upload.sites_support import BASE_LAT, BASE_LON, CHARCOS, report, sites_of, timeline
from tests.integration.upload.support import call, make_user

pytestmark = pytest.mark.integration

NO_EVIDENCE = {
    "en": "Closing needs verification: an after photo of the site taken after the treatment (evidence_analysis_id), "
    "or an override with its reason",
    "es": "Cerrar requiere verificación: una foto posterior del sitio tomada después del tratamiento "
    "(evidence_analysis_id), o un override con su motivo",
}
CONFLICT_TITLE = {"en": "Conflicts with the resource's state", "es": "En conflicto con el estado del recurso"}


@pytest.mark.parametrize(("headers", "language"), [({}, "es"), ({"Accept-Language": "en"}, "en")])
def test_verifying_a_treated_site_without_evidence_is_409_no_evidence(upload_env, headers, language):
    # Given a puddle's site an expert treated
    owner, expert = make_user(), make_user("expert")
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON, (CHARCOS,)))
    path = f"/api/v1/sites/{site_id}/actions"
    assert call("POST", path, user=expert, body={"action": "treat"}).status == 200

    # When the expert asks to verify it with no after photo
    answer = call("POST", path, user=expert, body={"action": "verify", "notes": "looks dry"}, headers=headers)

    # Then nothing is recorded: 409 with the reason, in the caller's language
    assert answer.status == 409, answer.body
    error = answer.error
    assert (error["code"], error["status"], error["details"]) == ("conflict", 409, {"reason": "no_evidence"})
    assert (error["message"], error["title"]) == (NO_EVIDENCE[language], CONFLICT_TITLE[language])
    assert timeline(site_id) == [("create", None, None, "open"), ("treat", None, "open", "treated")]
