"""The body of POST /reports/generate: which report, in which format, over which filters."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sentrix_report.logic.filters import DataFilters, DayOrInstant
from sentrix_report.logic.site_units import UNIT_HELP, Unit


class ReportType(StrEnum):
    SUMMARY = "summary"
    DETAILED = "detailed"
    STATISTICS = "statistics"
    MAP = "map"
    WEEKLY = "weekly"  # the weekly bulletin of a territory (logic/bulletin.py)


class ReportFormat(StrEnum):
    PDF = "pdf"
    CSV = "csv"
    JSON = "json"


class ReportRequest(BaseModel):
    """The body of POST /reports/generate (dates may also sit at the top level, as the original had them)."""

    model_config = ConfigDict(extra="forbid")

    type: ReportType
    format: ReportFormat = ReportFormat.PDF
    date_from: DayOrInstant = None
    date_to: DayOrInstant = None
    filters: DataFilters = Field(default_factory=DataFilters)
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}([-_][A-Za-z]{2})?$")
    unit: Unit | None = Field(default=None, description=UNIT_HELP)
    options: dict[str, Any] | None = Field(default=None, description="accepted for compatibility, ignored")
    territory: str | None = Field(
        default=None, min_length=1, max_length=64, description="weekly: the territory's code (required)"
    )
    week: str | None = Field(
        default=None,
        pattern=r"^(\d{4}-SE\d{2}|\d{4}-\d{2}-\d{2})$",
        description="weekly: an epidemiological week (2026-SE05) or a day of it (default: the last whole week)",
    )

    @model_validator(mode="after")
    def _dates(self) -> ReportRequest:
        for name in ("date_from", "date_to"):
            top, inner = getattr(self, name), getattr(self.filters, name)
            if top is not None and inner is not None and top != inner:
                raise ValueError(f"{name} is given twice with different values")
        # Re-validate so the date order check of DataFilters sees the merged values.
        merged = self.filters.model_dump() | {
            "date_from": self.date_from or self.filters.date_from,
            "date_to": self.date_to or self.filters.date_to,
        }
        self.filters = DataFilters(**merged)
        if self.type is ReportType.WEEKLY:
            if self.territory is None:
                raise ValueError("a weekly bulletin needs a territory")
            if self.filters != DataFilters():
                raise ValueError("a weekly bulletin takes no filters or dates: its territory and week decide")
        elif self.territory is not None or self.week is not None:
            raise ValueError("territory and week belong to the weekly bulletin")
        return self
