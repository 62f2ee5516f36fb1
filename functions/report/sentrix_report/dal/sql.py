"""SQL fragments every report query shares, and the one way queries run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from sentrix.db.engine import set_local_on_begin
from sentrix_report.logic.filters import Where
from sentrix_report.settings import get_report_settings

# The risk_level enum is declared ALTO, MEDIO, BAJO, MINIMO, so min() over it is the highest risk.
HIGHEST_RISK = "min({column})"

# Heatmap intensity of the original system (reference §5.5), in numeric so 0.7 + 0.15 is exactly 0.85:
# base ALTO 0.7 / MEDIO 0.4 / else 0.2, plus min(n·0.05, 0.3) for ALTO and MEDIO or min(n·0.03, 0.2)
# otherwise, capped at 1 and rounded to 2 decimals.
INTENSITY = """round(LEAST(
    CASE {risk} WHEN 'ALTO' THEN 0.7 WHEN 'MEDIO' THEN 0.4 ELSE 0.2 END
    + CASE WHEN {risk} IN ('ALTO', 'MEDIO') THEN LEAST({n} * 0.05, 0.3) ELSE LEAST({n} * 0.03, 0.2) END,
    1.0), 2)::float8"""

# The grid of the public map rollup (migrations 0004, 0005): it serves public maps only at this precision.
ROLLUP_GRID_DEG = 0.01

# The distinct people behind the detections the rollup counts in a public cell (k-anonymity of public cells):
# users with a counted analysis there holding a detection no expert rejected, kept per cell by the rollup's
# triggers (map_public_people, migration 0022). `{cell}` is the alias of the row holding the cell's cx, cy.
CELL_REPORTERS = """(SELECT count(*) FROM map_public_people pp
    WHERE pp.cx = {cell}.cx AND pp.cy = {cell}.cy AND pp.n > 0)"""

# A risk level as a number, for means: ALTO 3, MEDIO 2, BAJO 1, MINIMO 0.
RISK_SCORE = "CASE {column} WHEN 'ALTO' THEN 3 WHEN 'MEDIO' THEN 2 WHEN 'BAJO' THEN 1 ELSE 0 END"

# A numeric mean back to a level: the nearest one.
RISK_FROM_SCORE = """CASE WHEN {score} >= 2.5 THEN 'ALTO' WHEN {score} >= 1.5 THEN 'MEDIO'
    WHEN {score} >= 0.5 THEN 'BAJO' ELSE 'MINIMO' END"""

# EPSG code of the WGS 84 UTM zone of a longitude/latitude (no Norway/Svalbard exceptions).
UTM_SRID = "(CASE WHEN {lat} >= 0 THEN 32600 ELSE 32700 END + LEAST(60, floor(({lon} + 180) / 6)::int + 1))"


def own(user_id: str) -> str:
    """SQL true when `user_id` is the caller's (`:viewer`), false otherwise — never NULL, and never for an
    anonymous caller: a NULL viewer must not own the reports of deleted users (user_id NULL), which would draw
    them as the caller's places (IS NOT DISTINCT FROM did)."""
    return f"({user_id} = CAST(:viewer AS uuid)) IS TRUE"


def intensity(risk: str, n: str) -> str:
    return INTENSITY.format(risk=risk, n=n)


def _prepare(session: Session) -> None:
    # Aggregates over a city's detections hash hundreds of thousands of rows: with PostgreSQL's default
    # 4 MB they spill to disk and take several times longer. SET LOCAL ends with this transaction.
    if not session.info.get("report_work_mem"):
        megabytes = int(get_report_settings().work_mem_mb)
        # jit off: the planner's estimates for DBSCAN windows and million-row joins pass the JIT thresholds,
        # and compiling (inlining + optimisation) then costs seconds that the query itself does not: measured
        # 2.6 s of a 3.8 s hotspot query. These statements are interpreted faster than they compile.
        # Before the transaction has begun, both travel with its BEGIN and the statement_timeout (sentrix.db.engine):
        # no round trip of their own. Else both in one statement (set_config(..., true) is SET LOCAL), with no
        # bound parameter (an int from our settings): pg8000 sends a statement without any in one message.
        local = {"work_mem": f"{megabytes}MB", "jit": "off"}
        if not set_local_on_begin(session, local):
            session.execute(
                text(f"SELECT set_config('work_mem', '{megabytes}MB', true), set_config('jit', 'off', true)")
            )
        session.info["report_work_mem"] = True


def rows(session: Session, sql: str, params: dict[str, Any] | None = None) -> Sequence[RowMapping]:
    """Run one statement and return its rows as mappings."""
    _prepare(session)
    return session.execute(text(sql), params or {}).mappings().all()


def one(session: Session, sql: str, params: dict[str, Any] | None = None) -> RowMapping:
    _prepare(session)
    return session.execute(text(sql), params or {}).mappings().one()


def scalar(session: Session, sql: str, params: dict[str, Any] | None = None) -> Any:
    _prepare(session)
    return session.execute(text(sql), params or {}).scalar()


def merge(*wheres: Where) -> Where:
    """One Where holding all conditions and parameters of `wheres`."""
    merged = Where.empty()
    for where in wheres:
        merged.clauses.extend(where.clauses)
        merged.params.update(where.params)
    return merged
