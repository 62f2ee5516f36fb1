"""Territories for people: the admins' import (inline or through a presigned upload) and the reads
(docs/territories.md)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sentrix.adapters.aws import client
from sentrix.config import get_settings
from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from sentrix.errors import DependencyUnavailable, Forbidden, NotFound, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.observability import logger
from sentrix.presign import presigned_post
from sentrix.repositories import territories as tagging
from sentrix_upload.dal import territories as dal
from sentrix_upload.logic import territory_import as checks
from sentrix_upload.settings import UploadSettings

UPLOAD_PREFIX = "territories/"
CONTENT_TYPE = "application/geo+json"
# Presigned imports: a city's neighbourhoods with detailed borders stay well below this.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _admin_only(principal: Principal) -> None:
    if not principal.has_role(Role.ADMIN):
        raise Forbidden(key="err.territory_permissions")


def start_upload(principal: Principal, settings: UploadSettings) -> dict[str, Any]:
    """A presigned POST for a large GeoJSON file under territories/; import it by its key afterwards."""
    _admin_only(principal)
    key = f"{UPLOAD_PREFIX}{principal.user_id}/{uuid.uuid4()}.geojson"
    signed = presigned_post(key, CONTENT_TYPE, max_bytes=MAX_UPLOAD_BYTES, ttl_s=settings.presigned_post_ttl_s)
    return {
        "upload_key": key,
        "url": signed.url,
        "fields": signed.fields,
        "content_type": signed.content_type,
        "max_bytes": signed.max_bytes,
        "expires_at": signed.expires_at,
    }


def _uploaded(principal: Principal, key: str) -> Any:
    # Only the caller's own uploads: a key is not a way to read anything else in the bucket.
    if not key.startswith(f"{UPLOAD_PREFIX}{principal.user_id}/") or ".." in key:
        raise checks.refuse("bad_upload_key")
    s3 = client("s3")
    bucket = get_settings().images_bucket
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchKey":  # (GetObject; a bare 404 is HEAD's)
            raise checks.refuse("bad_upload_key") from None
        raise DependencyUnavailable(key="err.storage_unavailable") from exc
    except BotoCoreError as exc:
        raise DependencyUnavailable(key="err.storage_unavailable") from exc
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise checks.refuse("not_json") from None
    finally:
        try:
            s3.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError):
            logger.warning("territory upload left behind", extra={"key": key})


def import_territories(principal: Principal, body: Any, locale: Locale) -> dict[str, Any]:
    """Check the whole file, then create or update every territory (one transaction) and re-tag what the
    import may have changed. Any refusal leaves everything as it was."""
    _admin_only(principal)
    if isinstance(body, dict) and "upload_key" in body:
        if set(body) != {"upload_key"} or not isinstance(body["upload_key"], str):
            raise checks.refuse("bad_upload_key")
        body = _uploaded(principal, body["upload_key"])
    features = checks.parse(body)
    with session_scope() as session:
        dal.lock_imports(session)
        ordered = checks.order(features, dal.stored_parents(session))
        repaired: list[int] = []
        for feature, (valid, empty) in zip(features, dal.validity(session, features), strict=True):
            if not valid:
                if empty:
                    raise checks.refuse("invalid_geometry", feature.index)
                repaired.append(feature.index)
        created = sum(1 for feature in ordered if dal.upsert(session, feature, principal.user_id))
        dal.recompute_depths(session)
        analyses, sites = tagging.retag(session, [f.code for f in features])
    logger.info(
        "territories imported",
        extra={"features": len(features), "new": created, "repaired": len(repaired), "retagged": analyses + sites},
    )
    return {
        "created": created,
        "updated": len(features) - created,
        "repaired": len(repaired),
        "repaired_features": [
            {"feature": index, "message": locale.t("territory.repaired", index=index)} for index in repaired
        ],
        "retagged_analyses": analyses,
        "retagged_sites": sites,
    }


def _view(row: Any, include_geometry: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "code": row.code,
        "name": row.name,
        "parent": row.parent_code,
        "level": row.depth,
        "area_m2": row.area_m2,
    }
    if include_geometry:
        view["geometry"] = json.loads(row.geojson)
    return view


def list_territories(
    *, parent: str | None, level: int | None, include_geometry: bool, limit: int, offset: int
) -> dict[str, Any]:
    """A page of territories as the API answers it."""
    with session_scope() as session:
        rows, total = dal.list_page(
            session, parent=parent, level=level, include_geometry=include_geometry, limit=limit, offset=offset
        )
    return {
        "items": [_view(row, include_geometry) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_next": offset + len(rows) < total,
    }


def territory(code: str) -> dict[str, Any]:
    """One territory with its geometry and children's codes; NotFound if unknown."""
    with session_scope() as session:
        found = dal.get(session, code)
    if found is None:
        raise NotFound(key="err.territory_not_found")
    row, children = found
    return {**_view(row, True), "children": children}


def check_known(code: str) -> None:
    """A `territory` filter naming no territory is a mistake worth saying (422), not an empty page."""
    with session_scope() as session:
        known = dal.exists(session, code)
    if not known:
        raise ValidationFailed("Unknown territory", key="err.territory_unknown", details={"territory": code}, code=code)
