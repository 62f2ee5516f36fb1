"""Intake routes: presigned uploads, small multipart uploads, batches."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.locale import request_language
from sentrix_upload.logic import intake_views
from sentrix_upload.logic.batch import multipart_batch, presigned_batch
from sentrix_upload.logic.intake import accept_file, start_presigned_upload
from sentrix_upload.routes.multipart import merge_idempotency_key, multipart_doc, options_from_form, read_multipart
from sentrix_upload.schemas.intake import (
    IDEMPOTENCY_KEY_PATTERN,
    AnalysisAccepted,
    BatchPresignedRequest,
    BatchResult,
    PresignedUploadRequest,
)
from sentrix_upload.settings import get_upload_settings

router = APIRouter(prefix="/api/v1", tags=["analyses"])

# The pattern is checked here too: a malformed header is the client's 422, not a ValidationError (500) in the handler.
IDEMPOTENCY_HEADER = Header(
    default=None,
    alias="Idempotency-Key",
    pattern=IDEMPOTENCY_KEY_PATTERN,
    description="Same as the idempotency_key field; give one or the other",
)
# A batch takes none: one key names one upload (422 if sent; a presigned item may carry its own idempotency_key).
BATCH_IDEMPOTENCY_HEADER = Header(
    default=None,
    alias="Idempotency-Key",
    description="Refused (422): a key names one upload; give each presigned item its own idempotency_key",
)


@router.post(
    "/analyses/uploads",
    status_code=201,
    response_model=AnalysisAccepted,
    summary="Start an upload: a pending analysis and the presigned POST to send the photo with",
    responses={
        200: {"description": "Idempotent replay: the analysis made earlier with this key"},
        **error_responses(409, 413, 415, 429, s409="The idempotency key was used for another file"),
    },
)
def create_presigned_upload(
    body: PresignedUploadRequest,
    response: Response,
    principal: Principal = Depends(current_principal),
    idempotency_key: str | None = IDEMPOTENCY_HEADER,
) -> dict[str, Any]:
    if idempotency_key is not None:
        values = body.model_dump(exclude_unset=True)
        merge_idempotency_key(values, idempotency_key)
        body = PresignedUploadRequest.model_validate(values)
    accepted = start_presigned_upload(principal, body, get_upload_settings())
    if accepted.replayed:
        response.status_code = 200
    return intake_views.accepted_view(accepted)


@router.post(
    "/analyses",
    status_code=202,
    response_model=AnalysisAccepted,
    summary="Upload a small photo (multipart, up to 4 MiB); larger ones use POST /analyses/uploads",
    openapi_extra=multipart_doc("file", many=False),
    responses=error_responses(
        400,
        409,
        413,
        415,
        429,
        s413="Too large for the API: use the presigned flow",
        s409="The idempotency key was used for another file",
    ),
)
async def create_analysis(
    request: Request,
    response: Response,
    principal: Principal = Depends(current_principal),
    idempotency_key: str | None = IDEMPOTENCY_HEADER,
) -> dict[str, Any]:
    settings = get_upload_settings()
    upload = await read_multipart(request, max_bytes=settings.multipart_max_bytes, max_files=1, file_field="file")
    options = options_from_form(upload.fields, idempotency_key)
    accepted = accept_file(principal, upload.files[0], options, settings)
    if accepted.replayed:
        response.status_code = 200
    return intake_views.accepted_view(accepted)


@router.post(
    "/analyses/batch",
    response_model=BatchResult,
    summary="Up to 50 uploads in one call: JSON {items:[…]} for presigned POSTs, or multipart `files`",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": BatchPresignedRequest.model_json_schema()},
                **multipart_doc("files", many=True)["requestBody"]["content"],
            },
        }
    },
    responses=error_responses(400, 413, 415, 429),
)
async def create_batch(
    request: Request,
    principal: Principal = Depends(current_principal),
    idempotency_key: str | None = BATCH_IDEMPOTENCY_HEADER,
) -> dict[str, Any]:
    settings = get_upload_settings()
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        upload = await read_multipart(
            request, max_bytes=settings.multipart_max_bytes, max_files=settings.batch_max_items, file_field="files"
        )
        options = options_from_form(upload.fields, idempotency_key)
        outcomes = multipart_batch(principal, upload.files, options, settings)
    else:
        try:
            body = BatchPresignedRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
            raise RequestValidationError(errors) from exc
        outcomes = presigned_batch(principal, body.items, settings, shared_key=idempotency_key)
    return intake_views.batch_view(outcomes, request_language(request))
