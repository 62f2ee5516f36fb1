"""Pure parts of the weekly bulletin to subscribers (docs/alerts.md, *The weekly bulletin to subscribers*): which
week a subscriber's zone has ended, where an edition's PDF is stored, and the e-mail's words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sentrix.domain.epiweeks import EpiWeek
from sentrix.i18n import Locale
from sentrix_report.logic.alert_messages import bulletin_notice
from sentrix_report.logic.weekly_bulletins import Edition, week_for


@pytest.mark.parametrize(
    ("now", "zone", "label"),
    [
        # Sunday 4 Jan 2026 07:00 UTC: 04:00 in Buenos Aires, the week of 28 Dec – 3 Jan has ended
        (datetime(2026, 1, 4, 7, tzinfo=UTC), "America/Argentina/Buenos_Aires", "2025-SE53"),
        # ... but it is Saturday 21:00 in Honolulu: its last complete week is the one before
        (datetime(2026, 1, 4, 7, tzinfo=UTC), "Pacific/Honolulu", "2025-SE52"),
        # Sunday 11 Jan 2026: the first week of 2026 (4–10 January)
        (datetime(2026, 1, 11, 7, tzinfo=UTC), "America/Sao_Paulo", "2026-SE01"),
        # Sunday 3 Jan 2027 (02:00 in Lima): 27 Dec 2026 – 2 Jan 2027 ended; 2026 has 52 weeks, so it is 2026-SE52
        (datetime(2027, 1, 3, 7, tzinfo=UTC), "America/Lima", "2026-SE52"),
    ],
)
def test_the_subscribers_zone_decides_the_week_just_ended(now, zone, label):
    assert week_for(Locale("es", zone), now).label == label


def test_an_editions_key_names_territory_week_language_and_zone():
    edition = Edition("AR-T/01 x", EpiWeek(2025, 53), "pt", "America/Argentina/Buenos_Aires")

    assert edition.key == "reports/bulletins/AR-T_01_x/2025-W53/pt/America/Argentina/Buenos_Aires.pdf"


def _figure(name, current, previous, pct, reason=None):
    total = sum(previous)
    return {
        "figure": name, "current": current, "previous_weeks": previous, "previous_total": total,
        "change_pct": pct, "numerator": 4 * current - total, "denominator": total, "reason": reason, "min_base": 10,
    }  # fmt: skip


BULLETIN = {
    "territory": {"code": "T", "name": "Tucumán"},
    "week": {"label": "2025-SE53", "start": "2025-12-28", "end": "2026-01-03", "time_zone": "America/Lima"},
    "figures": [
        _figure("reports", 7, [3, 2, 3, 4], 133.33),
        _figure("closed", 0, [1, 0, 0, 0], None, "base_below_minimum"),
    ],
    "alerts": [{"territory": "T-1", "level": "red", "clusters": 2}],
}


def test_the_email_states_each_figure_with_its_base_in_spanish():
    words = bulletin_notice(
        BULLETIN,
        {"id": "sub-1", "territory_code": "T"},
        Locale("es", "America/Lima"),
        "https://example.org/b.pdf",
        datetime(2026, 1, 11, 12, tzinfo=UTC),
    )

    assert words.subject == "[Sentrix] Tucumán: boletín semanal 2025-SE53"
    assert words.text == "Tucumán (T): boletín semanal 2025-SE53, del 2025-12-28 al 2026-01-03"
    lines = words.body.splitlines()
    assert lines[0] == (
        "Boletín epidemiológico semanal de Tucumán (T), semana 2025-SE53: del 2025-12-28 al 2026-01-03 (America/Lima)."
    )
    assert "- Reportes (análisis completados): 7 (4 semanas anteriores: 12; cambio: +133.33 % (16/12))" in lines
    assert "- Criaderos cerrados: 0 (4 semanas anteriores: 1; cambio: no se da, base 1 menor que 10)" in lines
    assert "Niveles de alerta al cierre de la semana: T-1 rojo (2 conglomerados abiertos)" in lines
    # 12:00 UTC is 07:00 in Lima (UTC-5)
    assert "El boletín completo (PDF; el enlace funciona hasta 2026-01-11 07:00 (UTC-05:00) America/Lima):" in lines
    assert "https://example.org/b.pdf" in lines
    assert "DELETE /api/v1/subscriptions/sub-1" in words.body
