"""Answers of the territory routes (docs/territories.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TerritoryOut(BaseModel):
    code: str
    name: str
    parent: str | None = None
    level: int = Field(description="Depth in the hierarchy: 0 for a root (a city)")
    area_m2: float
    geometry: dict[str, Any] | None = Field(default=None, description="GeoJSON MultiPolygon (WGS 84)")


class TerritoryDetail(TerritoryOut):
    children: list[str] = Field(description="Codes of the territories directly below")


class TerritoryPage(BaseModel):
    items: list[TerritoryOut]
    total: int
    limit: int
    offset: int
    has_next: bool


class RepairedFeature(BaseModel):
    feature: int = Field(description="Index of the feature in the file (0-based)")
    message: str


class TerritoryImportResult(BaseModel):
    created: int
    updated: int
    repaired: int = Field(description="Features whose invalid geometry was repaired with ST_MakeValid")
    repaired_features: list[RepairedFeature]
    retagged_analyses: int = Field(description="Analyses whose territory changed with this import")
    retagged_sites: int = Field(description="Sites whose territory changed with this import")


class TerritoryUpload(BaseModel):
    method: str = "POST"
    upload_key: str = Field(description='Send it back as {"upload_key": ...} to POST /territories once uploaded')
    url: str
    fields: dict[str, str] = Field(description="Form fields to send before the `file` part, unchanged")
    content_type: str
    max_bytes: int
    expires_at: datetime
