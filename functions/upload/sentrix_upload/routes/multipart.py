"""Reading multipart uploads that came through API Gateway (base64-decoded by Mangum) within the size limit, the
upload options of their form, and the OpenAPI description of such a body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from sentrix.errors import BadRequest, PayloadTooLarge, ValidationFailed
from sentrix_upload.logic.errors import UnsupportedMediaType
from sentrix_upload.logic.intake import IncomingFile
from sentrix_upload.schemas.intake import UploadOptions

# Room for the form's other fields and part headers on top of the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_FORM_FIELDS = 20
PRESIGNED_ROUTE = "POST /api/v1/analyses/uploads"


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    files: list[IncomingFile]
    fields: dict[str, str]


def too_large(limit: int) -> PayloadTooLarge:
    """The 413 that sends the client to the presigned flow."""
    mib = limit / (1024 * 1024)
    return PayloadTooLarge(
        f"Files sent through the API may be at most {mib:.1f} MiB. "
        f"Upload larger photos with {PRESIGNED_ROUTE} (a presigned POST straight to storage).",
        details={"max_bytes": limit, "use": PRESIGNED_ROUTE},
    )


async def read_multipart(request: Request, *, max_bytes: int, max_files: int, file_field: str) -> MultipartUpload:
    """The files under `file_field` and the other text fields; 413 before parsing when the body is too big."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(key="err.multipart_required")
    # The whole request has to fit through API Gateway and Lambda, so the limit is on the body,
    # whatever the number of files in it (a batch shares it).
    body_limit = max_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise too_large(max_bytes)
    body = await request.body()  # cached: the form parser below reads the same bytes
    if len(body) > body_limit:
        raise too_large(max_bytes)
    form = await request.form(max_files=max_files, max_fields=MAX_FORM_FIELDS)
    files: list[IncomingFile] = []
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != file_field:
                raise BadRequest(key="err.multipart_file_field", name=repr(name), field=repr(file_field))
            data = await value.read()
            if len(data) > max_bytes:
                raise too_large(max_bytes)
            files.append(IncomingFile(value.filename or "", value.content_type, data))
        elif name in fields:
            raise BadRequest(key="err.multipart_repeated", name=repr(name))
        else:
            fields[name] = value
    await form.close()
    if not files:
        raise ValidationFailed(key="err.multipart_no_file", details={"field": file_field}, field=repr(file_field))
    return MultipartUpload(files, fields)


OPTION_FIELDS = ("confidence_threshold", "include_gps", "latitude", "longitude", "idempotency_key")


def multipart_doc(file_field: str, many: bool) -> dict[str, Any]:
    """The OpenAPI request body of a multipart upload route (FastAPI cannot see a body read by hand)."""
    file_schema: dict[str, Any] = {"type": "string", "format": "binary"}
    properties: dict[str, Any] = {
        file_field: {"type": "array", "items": file_schema} if many else file_schema,
        "confidence_threshold": {"type": "number", "minimum": 0.1, "maximum": 1.0},
        "include_gps": {"type": "boolean"},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
    }
    if not many:
        properties["idempotency_key"] = {"type": "string", "maxLength": 128}
    schema = {"type": "object", "required": [file_field], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def options_from_form(fields: dict[str, str], idempotency_key: str | None = None) -> UploadOptions:
    """The upload options of a form (fields the original client does not send are ignored)."""
    values: dict[str, Any] = {name: fields[name] for name in OPTION_FIELDS if name in fields}
    merge_idempotency_key(values, idempotency_key)
    try:
        return UploadOptions.model_validate(values)
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        raise RequestValidationError(errors) from exc


def merge_idempotency_key(values: dict[str, Any], header_key: str | None) -> None:
    """Put the Idempotency-Key header into the body's values; 422 if the body names another key."""
    if header_key is None:
        return
    if values.get("idempotency_key") not in (None, header_key):
        raise ValidationFailed(key="err.idempotency_differs")
    values["idempotency_key"] = header_key
