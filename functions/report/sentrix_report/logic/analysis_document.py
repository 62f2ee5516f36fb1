"""The per-analysis document: what GET /analyses/{id}/report shows, read once.

Its own module so that the use case that reads it (logic/analysis_report.py) and the PDF that draws it
(render/analysis_pdf.py) both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sentrix.i18n import Locale
from sentrix_report.dal.analysis import AnalysisRow


@dataclass(frozen=True)
class AnalysisDocument:
    """Everything the per-analysis report shows, read once."""

    analysis: AnalysisRow
    locale: Locale
    recommendations: tuple[str, ...]
    image: bytes | None
    generated_at: datetime
    generated_by: str

    @property
    def language(self) -> str:
        return self.locale.language
