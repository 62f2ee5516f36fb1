"""Revalidation and verdicts read the season where the site is: its hemisphere and its local month."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.db.models import Detection
from tests.integration.upload.support import call, make_user, seed_analysis

pytestmark = pytest.mark.integration

BUENOS_AIRES = (-34.6037, -58.3816)
MADRID = (40.4168, -3.7038)
LIMA = (-12.0464, -77.0428)
# Basura (7 d) × ALTO 1.2 × season × validated 1.3 at confidence 0.8, truncated:
# wet 7 × 1.2 × 1.8 × 1.3 = 19.656 → 19; dry 7 × 1.2 × 0.6 × 1.3 = 6.552 → 6; none 7 × 1.2 × 1.3 = 10.92 → 10
WET, DRY, NONE = 19, 6, 10
SOUTH = {12: WET, 1: WET, 2: WET, 6: DRY, 7: DRY, 8: DRY}
NORTH = {6: WET, 7: WET, 8: WET, 12: DRY, 1: DRY, 2: DRY}
ZONES = {"south": "America/Argentina/Buenos_Aires", "north": "Europe/Madrid", "tropics": "America/Lima"}


def revalidated_days(expert, owner, place: tuple[float, float], zone: str) -> int:
    analysis = seed_analysis(owner, latitude=place[0], longitude=place[1], classes=(0,))
    with session_scope() as session:
        session.execute(text("UPDATE analyses SET local_time_zone = :z WHERE id = :id"), {"z": zone, "id": analysis})
        detection_id = session.query(Detection.id).filter(Detection.analysis_id == analysis).scalar()
    answer = call("POST", f"/api/v1/detections/{detection_id}/revalidate", user=expert)
    assert answer.status == 200, answer.body
    return answer.body["detection"]["validity_days"]


def test_revalidation_reads_the_season_where_and_when_the_site_is(upload_env):
    # Given the same trash site type in Buenos Aires, Madrid and Lima, each analysis with its local zone
    expert, owner = make_user("expert"), make_user()

    # When an expert revalidates each today without naming a weather
    south = revalidated_days(expert, owner, BUENOS_AIRES, ZONES["south"])
    north = revalidated_days(expert, owner, MADRID, ZONES["north"])
    tropics = revalidated_days(expert, owner, LIMA, ZONES["tropics"])

    # Then each gets the season of its hemisphere in its own local month (none between the tropics)
    south_month = datetime.now(ZoneInfo(ZONES["south"])).month
    north_month = datetime.now(ZoneInfo(ZONES["north"])).month
    assert south == SOUTH.get(south_month, NONE)
    assert north == NORTH.get(north_month, NONE)
    assert tropics == NONE


def test_a_positive_verdict_adds_its_bonus_in_the_season_detect_used(upload_env):
    # Given trash photographed in Buenos Aires on 15 January 2026 (summer): 7 × 1.2 × 1.8 = 15.12 → 15 days
    expert, owner = make_user("expert"), make_user()
    analysis = seed_analysis(owner, latitude=BUENOS_AIRES[0], longitude=BUENOS_AIRES[1], classes=(0,))
    taken = datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo(ZONES["south"]))
    with session_scope() as session:
        session.execute(
            text("UPDATE analyses SET local_time_zone = :z, validity_from = :t WHERE id = :id"),
            {"z": ZONES["south"], "t": taken, "id": analysis},
        )
        detection = session.query(Detection).filter(Detection.analysis_id == analysis).one()
        detection.validity_days, detection.expires_at = 15, taken + timedelta(days=15)
        detection_id = detection.id

    # When an expert confirms it
    answer = call(
        "POST",
        f"/api/v1/detections/{detection_id}/validate",
        user=expert,
        body={"validation_status": "validated_positive"},
    )

    # Then the ×1.3 bonus is the summer one: 15.12 × 1.3 = 19.656 → 19 days (+4), not the seasonless +2
    assert answer.status == 200, answer.body
    with session_scope() as session:
        stored = session.get(Detection, detection_id)
        assert (stored.validity_days, stored.expires_at) == (19, taken + timedelta(days=19))
