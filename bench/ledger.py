"""The ledger of a load run (bench/load.py): every upload attempt accounted for, every analysis where it must be.

Balanced means, after the queue and the dead-letter queue drained:
- every accepted upload has exactly one analysis (one row per idempotency key, no row nobody asked for),
  owned by the user who sent it, in a final state — none left `pending_upload`, `queued` or `processing`;
- the final state is the right one: a photo `completed`; of the same user's identical uploads exactly one
  `completed` and the others `duplicate` of it; a hostile file `failed` with the reason of its kind, or
  refused at the API with the 4xx of its kind (and then no analysis at all);
- detections: as many rows as `total_detections`, none twice, the classes the stand-in's deterministic
  answer gives for the image detect sent it; none for failed and duplicate analyses;
- every completed analysis was completed once (as many "analysis completed" log lines as completed rows),
  YOLO's successful answers cover the completed analyses, and no 5xx other than the database outage's 503s;
- what was found in the DLQ belongs to accepted uploads and ended like every other upload.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FINAL = {"completed", "failed", "duplicate"}
OUTAGE_GRACE_S = 15  # a 503 just after the restart (pool reconnecting) still belongs to the outage

# Per kind: reason pattern if it ends `failed`, and the 4xx the API may refuse it with (per flow).
FAILURE_REASON = {
    "not_image": re.compile(r"not a supported image"),
    "empty": re.compile(r"empty"),
    "truncated": re.compile(r"corrupt|truncated|cannot be read|cannot be decoded"),
    "bomb": re.compile(r"exceed|over the limit|decompression bomb|too large"),
}
REFUSALS = {  # docs/upload.md: multipart content is sniffed before anything is stored
    ("not_image", "multipart"): {422},
    ("empty", "multipart"): {422},
}
COMPLETED_MARK = '"message":"analysis completed"'
# The poller's line (sentrix_local.logs.stack_line): `<time> poller <LEVEL> redelivery <message id> n/m`.
REDELIVERY_LINE = re.compile(r"\bpoller\s+\w+\s+redelivery (\S+)")
DATABASE_RETRY_MESSAGES = (
    "transient failure; the message will be delivered again",
    "could not record the analysis state",
)
SAFE_KEY_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def expected_classes(data: bytes, threshold: float, include_gps: bool, profile: str = "default") -> list[int]:
    """The class ids the YOLO stand-in (in `profile`) answers for the image the detect function sends it."""
    from PIL import Image

    from sentrix_detect.logic.imaging import ImageLimits, prepare_image
    from sentrix_detect.settings import DetectSettings
    from yolo_standin.detector import detect

    s = DetectSettings()
    limits = ImageLimits(
        max_bytes=50 * 1024 * 1024,
        max_pixels=s.max_pixels,
        max_side=s.max_side,
        min_side=s.min_side,
        yolo_min_side=s.yolo_min_side,
        jpeg_quality=s.jpeg_quality,
    )
    prepared = prepare_image(data, limits, keep_gps=include_gps)
    with Image.open(io.BytesIO(prepared.jpeg)) as sent:
        return sorted(d["class_id"] for d in detect(sent.convert("RGB"), threshold, profile))


def read_log(path: Path) -> tuple[Counter, Counter, list[dict]]:
    """From the stack's output and its functions' JSON logs (`logs/<Function>.log` beside it, when there):
    completions per analysis, redeliveries per message, database-related retries."""
    completed: Counter = Counter()
    redelivered: Counter = Counter()
    db_retries: list[dict] = []
    paths = [path, *sorted((path.parent / "logs").glob("*Function.log"))]
    lines = [line for p in paths for line in p.read_text(errors="replace").splitlines()]
    for line in lines:
        redelivery = REDELIVERY_LINE.search(line)
        if redelivery:
            redelivered[redelivery.group(1)] += 1
            continue
        # Threads share the stack's stdout, so a JSON log line may follow another line's text unterminated.
        completed["?"] += line.count(COMPLETED_MARK)
        start = line.find('{"level"')
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        message = entry.get("message")
        if message in DATABASE_RETRY_MESSAGES and "atabase" in str(entry.get("reason") or entry.get("error")):
            db_retries.append(entry)
    return completed, redelivered, db_retries


def check_ledger(
    *,
    jobs: list,
    engine: Any,
    stack_log: Path,
    yolo_stats: dict,
    dlq: list[dict],
    outage: dict,
    redeliver_fraction: float,
    profile: str = "default",
) -> dict:
    from sqlalchemy import text

    problems: list[str] = []
    with engine.connect() as connection:
        rows = {
            str(r["id"]): r
            for r in connection.execute(
                text(
                    "SELECT a.id, a.status::text AS status, a.failure_reason, a.idempotency_key, a.image_key, "
                    "a.duplicate_of, a.total_detections, a.completed_at, a.confidence_threshold, a.include_gps, "
                    "a.attempts, a.pipeline_time_ms, u.email FROM analyses a JOIN users u ON u.id = a.user_id"
                )
            ).mappings()
        }
        detection_rows = connection.execute(
            text("SELECT analysis_id, class_id, polygon::text AS polygon FROM detections")
        ).all()
    detections: dict[str, list[int]] = defaultdict(list)
    duplicated_detections = 0
    seen_detection = Counter((str(a), c, p) for a, c, p in detection_rows)
    for (analysis_id, class_id, _), count in seen_detection.items():
        detections[analysis_id].extend([class_id] * count)
        duplicated_detections += count - 1
    if duplicated_detections:
        problems.append(f"{duplicated_detections} detection row(s) stored twice")

    accepted = [j for j in jobs if j.outcome == "accepted"]
    refused = [j for j in jobs if j.outcome == "refused"]
    gave_up = [j for j in jobs if j.outcome not in ("accepted", "refused")]
    for job in gave_up:
        problems.append(f"upload {job.index} ({job.kind}) never went through: {job.attempts[-1:]}")

    # One analysis per accepted upload, none extra.
    by_key = Counter(r["idempotency_key"] for r in rows.values())
    accepted_ids = {j.analysis_id for j in accepted}
    orphans = set(rows) - accepted_ids
    missing = accepted_ids - set(rows)
    duplicated_rows = len(orphans) + sum(n - 1 for k, n in by_key.items() if k and n > 1)
    for analysis_id in sorted(orphans):
        problems.append(f"analysis {analysis_id} belongs to no accepted upload ({rows[analysis_id]['status']})")
    for analysis_id in sorted(missing):
        problems.append(f"accepted upload's analysis {analysis_id} does not exist")
    stuck = [r for r in rows.values() if r["status"] not in FINAL]
    for row in stuck:
        problems.append(f"analysis {row['id']} stuck in {row['status']} ({row['failure_reason']})")
    lost = len(missing) + len(stuck)

    emails = {}
    wrong_state = 0
    latencies: list[float] = []
    latencies_direct: list[float] = []  # analyses whose message never went through the DLQ
    via_dlq = {e["analysis_id"] for e in dlq}
    groups: dict[tuple[int, str], list] = defaultdict(list)
    completed_log, redelivered, db_retries = read_log(stack_log)
    class_mismatches = 0
    for job in accepted:
        row = rows.get(job.analysis_id)
        if row is None:
            continue
        emails.setdefault(job.user, row["email"])
        if emails[job.user] != row["email"]:
            problems.append(f"analysis {job.analysis_id} is owned by {row['email']}, not the uploader")
        if row["idempotency_key"] not in (None, job.idempotency_key):
            problems.append(f"analysis {job.analysis_id} carries another upload's idempotency key")
        status, reason = row["status"], row["failure_reason"] or ""
        if job.kind in ("photo", "duplicate", "hostile_name"):
            groups[(job.user, job.sha256)].append(job)
            if job.kind == "hostile_name" and not SAFE_KEY_NAME.match(row["image_key"].rsplit("/", 1)[-1]):
                problems.append(f"hostile name {job.filename!r} stored under an unsafe key {row['image_key']!r}")
                wrong_state += 1
        else:
            pattern = FAILURE_REASON[job.kind]
            if status != "failed" or not pattern.search(reason) or reason.startswith("gave up"):
                wrong_state += 1
                problems.append(f"{job.kind} upload {job.index} ({job.flow}) ended {status}: {reason!r}")
        if detections.get(job.analysis_id) and status != "completed":
            problems.append(f"{status} analysis {job.analysis_id} has detections")
        if status == "completed":
            if len(detections.get(job.analysis_id, [])) != row["total_detections"]:
                problems.append(
                    f"analysis {job.analysis_id}: {len(detections.get(job.analysis_id, []))} detection rows, "
                    f"total_detections {row['total_detections']}"
                )
            expected = expected_classes(
                job.data, float(row["confidence_threshold"] or 0.5), bool(row["include_gps"]), profile
            )
            if sorted(detections.get(job.analysis_id, [])) != expected:
                class_mismatches += 1
                problems.append(
                    f"analysis {job.analysis_id}: classes {sorted(detections.get(job.analysis_id, []))}, "
                    f"the stand-in's answer {expected}"
                )
            if job.accepted_at and row["completed_at"]:
                latency = row["completed_at"].timestamp() - job.accepted_at
                latencies.append(latency)
                if job.analysis_id not in via_dlq:
                    latencies_direct.append(latency)

    # Identical uploads of one user: exactly one completed, the others duplicates of it.
    expected_duplicates = 0
    for (_, _), members in groups.items():
        states = [rows[j.analysis_id] for j in members if j.analysis_id in rows]
        winners = [r for r in states if r["status"] == "completed"]
        expected_duplicates += len(states) - 1
        if len(winners) != 1:
            wrong_state += len(states)
            problems.append(
                f"{len(states)} identical upload(s) of one user: {[r['status'] for r in states]} "
                f"({[r['failure_reason'] for r in states if r['failure_reason']]})"
            )
            continue
        for r in states:
            if r is not winners[0] and (r["status"] != "duplicate" or str(r["duplicate_of"]) != str(winners[0]["id"])):
                wrong_state += 1
                problems.append(f"re-upload {r['id']} ended {r['status']} (duplicate_of {r['duplicate_of']})")

    # Refusals: the 4xx of their kind, and no analysis.
    refused_keys = {j.idempotency_key for j in refused}
    for job in refused:
        allowed = REFUSALS.get((job.kind, job.flow), set())
        if job.refused_status not in allowed:
            wrong_state += 1
            problems.append(
                f"{job.kind} upload {job.index} ({job.flow}, {job.filename[:40]!r}) refused with "
                f"{job.refused_status} {job.refused_code}"
            )
    leaked = [r["id"] for r in rows.values() if r["idempotency_key"] in refused_keys]
    if leaked:
        problems.append(f"{len(leaked)} refused upload(s) left an analysis behind")

    # API answers: no 5xx other than the outage's 503s.
    attempts = [a for j in jobs for a in j.attempts]
    window = _window(outage)
    status_5xx = [a for a in attempts if a["status"] and a["status"] >= 500]
    unexpected_5xx = [a for a in status_5xx if not (a["status"] == 503 and _inside(a["t"], window))]
    for a in unexpected_5xx[:20]:
        problems.append(f"unexpected {a['status']} {a['code']} at {a['step']} ({_iso(a['t'])})")
    transport = [a for a in attempts if a["status"] is None]
    unexpected_transport = [a for a in transport if not _inside(a["t"], window)]
    for a in unexpected_transport[:20]:
        problems.append(f"transport error outside the outage: {a['error']}")

    # YOLO: every completed analysis needed one successful answer; extra successes only from timeouts
    # answered after the client gave up, or results the database outage kept from being written.
    outcomes = yolo_stats["outcomes"]
    completed_count = sum(1 for r in rows.values() if r["status"] == "completed")
    # The count of completions, from the detect function's own log (logs/DetectFunction.log).
    completions_logged = sum(completed_log.values())
    if completions_logged != completed_count:
        problems.append(f"{completions_logged} completions logged for {completed_count} completed analyses")
    yolo_ok = outcomes.get("ok", 0)
    late = outcomes.get("injected_timeout", 0)
    unexplained = max(0, yolo_ok - completed_count - late)
    if yolo_ok < completed_count:
        problems.append(f"{completed_count} completed analyses but only {yolo_ok} successful YOLO answers")
    if unexplained > len(db_retries):
        problems.append(f"{unexplained} successful YOLO answers wasted without a database fault to explain them")

    # The DLQ: every message belonged to an accepted upload (whose final state was checked above).
    for entry in dlq:
        if entry["analysis_id"] not in accepted_ids:
            problems.append(f"DLQ message {entry['message_id']} for {entry['key']} belongs to no accepted upload")

    processed_messages = max(1, len(accepted))
    final_states = Counter(r["status"] for r in rows.values())
    balanced = not problems
    return {
        "balanced": balanced,
        "accepted": len(accepted),
        "refused": len(refused),
        "refused_by_status": dict(Counter(f"{j.kind}/{j.flow}: {j.refused_status}" for j in refused)),
        "client_gave_up": len(gave_up),
        "analyses": len(rows),
        "final_states": dict(final_states),
        "final_states_by_kind": _by_kind(accepted, rows),
        "expected_duplicates": expected_duplicates,
        "lost": lost,
        "duplicated_rows": duplicated_rows,
        "duplicated_detections": duplicated_detections,
        "wrong_state": wrong_state,
        "detections": len(detection_rows),
        "class_mismatches": class_mismatches,
        "api": {
            "attempts": len(attempts),
            "status_503": sum(1 for a in attempts if a["status"] == 503),
            "unexpected_5xx": len(unexpected_5xx),
            "transport_errors": len(transport),
            "retried_uploads": sum(1 for j in jobs if len(j.attempts) > (2 if j.flow == "presigned" else 1)),
        },
        "yolo": {
            "successful_answers": yolo_ok,
            "completed_analyses": completed_count,
            "late_timeouts": late,
            "wasted_by_database_fault": unexplained,
            "database_retries_logged": len(db_retries),
            "completions_logged": completions_logged,
        },
        "redeliveries": {
            "done": sum(redelivered.values()),
            "messages": len(redelivered),
            "share": round(len(redelivered) / processed_messages, 3),
            "twice": sum(1 for n in redelivered.values() if n == 2),
            "fraction_configured": redeliver_fraction,
        },
        "dlq": {
            "found": len(dlq),
            "rounds": max((e["round"] for e in dlq), default=0),
            "states_when_found": dict(Counter(str(e["status_then"]) for e in dlq)),
            "final_states": dict(Counter(rows[e["analysis_id"]]["status"] for e in dlq if e["analysis_id"] in rows)),
        },
        "problems": problems,
        "pipeline_time_ms": _spread([r["pipeline_time_ms"] for r in rows.values() if r["status"] == "completed"]),
        "latencies_s": latencies,
        "latencies_direct_s": latencies_direct,
    }


def _by_kind(accepted: list, rows: dict) -> dict:
    table: dict[str, Counter] = defaultdict(Counter)
    for job in accepted:
        row = rows.get(job.analysis_id)
        table[job.kind][row["status"] if row else "missing"] += 1
    return {kind: dict(counts) for kind, counts in sorted(table.items())}


def _window(outage: dict) -> tuple[float, float] | None:
    if not outage.get("stopped_at"):
        return None
    start = datetime.fromisoformat(outage["stopped_at"]).timestamp()
    end = datetime.fromisoformat(outage["started_at"]).timestamp() if outage.get("started_at") else start + 3600
    return start - 1, end + OUTAGE_GRACE_S


def _inside(t: float, window: tuple[float, float] | None) -> bool:
    return window is not None and window[0] <= t <= window[1]


def _iso(t: float) -> str:
    return (datetime.fromtimestamp(t, UTC) + timedelta()).isoformat()


def _spread(values: list) -> dict:
    """p50/p95 of the detect function's own time per completed analysis (queue wait excluded)."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return {"count": 0, "p50": None, "p95": None}
    return {
        "count": len(values),
        "p50": values[len(values) // 2],
        "p95": values[min(len(values) - 1, int(len(values) * 0.95))],
    }
