"""The anonymous preview route (public: no authorizer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sentrix.domain.risk import LANGUAGES
from sentrix.errors import ValidationFailed
from sentrix.http.envelope import error_responses
from sentrix.http.locale import remember, request_language
from sentrix.i18n import DEFAULT_LANGUAGE, Locale
from sentrix_upload.logic.preview import preview
from sentrix_upload.routes.deps import source_ip
from sentrix_upload.routes.multipart import multipart_doc, options_from_form, read_multipart
from sentrix_upload.schemas.intake import PreviewResult
from sentrix_upload.settings import get_upload_settings

router = APIRouter(prefix="/api/v1", tags=["analyses"])

_DOC = multipart_doc("file", many=False)
_DOC["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["language"] = {
    "type": "string",
    "enum": list(LANGUAGES),
}

_RESPONSES = error_responses(
    400,
    413,
    415,
    429,
    503,
    504,
    s429="Too many previews from this address (Retry-After)",
    s503="Detector unavailable",
    s504="Detector too slow",
)


@router.post(
    "/analyses/public",
    response_model=PreviewResult,
    summary="Anonymous preview of one small photo: detections, risk, annotated image; nothing stored",
    openapi_extra=_DOC,
    responses=_RESPONSES,
)
async def public_preview(request: Request) -> dict[str, Any]:
    settings = get_upload_settings()
    upload = await read_multipart(request, max_bytes=settings.multipart_max_bytes, max_files=1, file_field="file")
    fields = dict(upload.fields)
    fields.pop("idempotency_key", None)  # nothing is created, so there is nothing to make idempotent
    stated = fields.pop("language", "").strip().lower()
    if stated and stated not in LANGUAGES:
        raise ValidationFailed(f"language must be one of {', '.join(LANGUAGES)}", details={"language": stated})
    # The form's `language`, else the request's (`language` query, Accept-Language), else Spanish; remembered
    # so that an error answer of this request speaks it too.
    language = stated or request_language(request) or DEFAULT_LANGUAGE
    remember(request, Locale(language=language))
    options = options_from_form(fields)
    request_id = request.scope.get("state", {}).get("request_id")
    return preview(source_ip(request), upload.files[0], options, settings, language=language, request_id=request_id)
