"""API Gateway entry point of the report function."""

from fastapi import APIRouter
from sqlalchemy import func, select

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis, Detection
from sentrix.http.app import create_app, lambda_handler
from sentrix.http.health import router as health_router

router = APIRouter(prefix="/api/v1", tags=["maps"])


@router.get("/map-stats", summary="System-wide map statistics (public)")
def map_stats() -> dict:
    with session_scope() as session:
        analyses = session.scalar(select(func.count()).select_from(Analysis))
        detections = session.scalar(select(func.count()).select_from(Detection))
    return {"total_analyses": analyses, "total_detections": detections}


app = create_app("Sentrix report", [router, health_router], description="Reports, exports, maps, statistics.")
handler = lambda_handler(app)
