"""The weekly job sends each subscribed territory's bulletin (docs/alerts.md, *Schedule*; scheduled.py).

Over the timeline of test_weekly.py (territories C, H1, H2; read its docstring). The job runs at Sunday
4 January 2026 07:00 UTC — 04:00 in Buenos Aires, the subscribers' zone — so the week just ended is 2025-SE53,
Sunday 28 December 2025 to Saturday 3 January 2026, across the year boundary. Expected figures are worked out by
hand from that timeline (test_bulletin.py's docstring): reports 7 against 3, 2, 3, 4 (total 12 ≥ the minimum
base 10: change 100·(4·7 − 12)/12 = +133.33 %, numerator 16, denominator 12); new sites 2 against 0, 1, 1, 0
(total 2, below the base: no percentage); confirmed 1 against 0s; closed 1 against 0, 1, 0, 0; reopened 1
against 0s; open at the week's end 3 against 0, 0, 1, 1. One alert level is recorded by hand: H1 green → yellow
on 2 January with an open alert holding S2 (H1), so C's bulletin says H1 yellow with one open cluster.

Webhooks go to a real receiver over HTTP that checks the HMAC with its own code; e-mail is read back from
moto's SNS through an SQS queue with the subscription's filter policy; the PDF link is downloaded and read
with pdftotext. Time is a clock the test moves (no sleeps).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from tests.integration.report.conftest import call, make_caller
from tests.integration.report.pdf_tools import pdf_text
from tests.integration.report.subscriptions_support import Clock, Receiver, assign, set_language
from tests.integration.report.test_bulletin import _alert, _level
from tests.integration.report.test_subscription_delivery import drained, listening_queue, subscribe
from tests.integration.report.test_subscription_delivery import settings as settings  # the fixture
from tests.integration.report.test_subscription_delivery import topic as topic  # the fixture
from tests.integration.report.test_weekly import at
from tests.integration.report.test_weekly import sites as sites  # the fixture

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 4, 7, 0, tzinfo=UTC)  # the weekly rule: Sunday 07:00 UTC
ZONE = "America/Argentina/Buenos_Aires"

# By hand (module docstring): (current, previous four weeks).
FIGURES = {
    "reports": (7, [3, 2, 3, 4]),
    "new_sites": (2, [0, 1, 1, 0]),
    "confirmed_sites": (1, [0, 0, 0, 0]),
    "closed": (1, [0, 1, 0, 0]),
    "reopened": (1, [0, 0, 0, 0]),
    "open_at_end": (3, [0, 0, 1, 1]),
}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def receiver(clock) -> Iterator[Receiver]:
    server = Receiver(clock).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def world(sites, settings):
    """The timeline, and H1 on yellow since 2 January with an open alert holding S2."""
    with session_scope() as s:
        alert = _alert(s, at(2026, 1, 2), [sites["S2"]])
        _level(s, "H1", "green", "yellow", at(2026, 1, 2), alert)
    return sites


def official_of(code: str, language: str, timezone: str = ZONE):
    caller = make_caller(Role.OFFICIAL)
    assign(caller.id, code)
    set_language(caller.id, language, timezone)
    return caller


def weekly(now: datetime = NOW) -> dict:
    from sentrix_report import scheduled

    return scheduled.run("weekly", now)


def deliver(clock: Clock):
    from sentrix_report.logic.delivery_run import run_deliveries

    return run_deliveries(now=clock)


def bulletin_rows() -> list[dict]:
    with session_scope() as session:
        found = session.execute(
            text(
                "SELECT subscription_id, kind, change_id, week, status, attempts FROM subscription_deliveries "
                "ORDER BY id"
            )
        ).mappings()
        return [dict(row) for row in found]


def test_the_webhook_gets_the_weeks_bulletin_signed_with_figures_by_hand(world, receiver, clock):
    official = official_of("C", "en")
    created = subscribe(official, "C", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]

    answer = weekly()
    summary = deliver(clock)

    assert answer == {
        "job": "weekly",
        "done": True,
        "now": "2026-01-04T07:00:00+00:00",
        "subscriptions": 1,
        "deliveries_queued": 1,
        "bulletins_stored": 1,
        "weeks": ["2025-SE53"],
    }
    assert (summary.claimed, summary.delivered) == (1, 1)
    [got] = receiver.received
    assert got.verified and got.answered == 200
    assert got.headers["Sentrix-Event"] == "bulletin.weekly"
    body = json.loads(got.body)
    assert got.headers["Sentrix-Delivery"] == str(body["delivery_id"])
    assert (body["type"], body["subscription_id"], body["language"]) == ("weekly_bulletin", created["id"], "en")
    assert body["territory"] == {"code": "C", "name": "C"}
    assert body["week"] == {
        "year": 2025, "week": 53, "label": "2025-SE53", "start": "2025-12-28", "end": "2026-01-03", "time_zone": ZONE,
    }  # fmt: skip
    figures = {f["figure"]: f for f in body["figures"]}
    assert set(figures) == set(FIGURES)
    for name, (current, previous) in FIGURES.items():
        got_figure = figures[name]
        assert (got_figure["current"], got_figure["previous_weeks"]) == (current, previous), name
        assert got_figure["previous_total"] == sum(previous)
        assert (got_figure["numerator"], got_figure["denominator"]) == (4 * current - sum(previous), sum(previous))
    assert (figures["reports"]["change_pct"], figures["reports"]["reason"]) == (133.33, None)
    assert (figures["reports"]["numerator"], figures["reports"]["denominator"]) == (16, 12)
    assert (figures["new_sites"]["change_pct"], figures["new_sites"]["reason"]) == (None, "base_below_minimum")
    assert body["recurrence_rate"] | {"of": None, "per": None} == {
        "value": 1.0, "numerator": 1, "denominator": 1, "of": None, "per": None,
    }  # fmt: skip
    assert body["top_sites"] == {"shown": 3, "open_sites": 3}
    assert body["alerts"] == [{"territory": "H1", "level": "yellow", "clusters": 1}]
    assert body["text"] == "C (C): weekly bulletin 2025-SE53, 2025-12-28 to 2026-01-03"
    assert datetime.fromisoformat(body["pdf"]["expires_at"]) == NOW + timedelta(days=7)

    # The link downloads the PDF, which names the territory and the week
    pdf = httpx.get(body["pdf"]["url"], timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert len(pdf.content) == body["pdf"]["bytes"]
    words = pdf_text(pdf.content)
    assert "Weekly epidemiological bulletin" in words
    assert "C (C)" in words and "2025-SE53" in words

    # Running the job again the same week (and later that day) queues and renders nothing; nothing more is sent
    assert weekly() | {"now": None} == answer | {"now": None, "deliveries_queued": 0, "bulletins_stored": 0}
    assert weekly(NOW + timedelta(hours=20))["deliveries_queued"] == 0
    clock.advance(3600)
    deliver(clock)
    assert len(receiver.received) == 1
    assert [(r["kind"], r["week"], r["change_id"], r["status"]) for r in bulletin_rows()] == [
        ("weekly_bulletin", "2025-SE53", None, "delivered")
    ]


def test_two_jobs_at_once_queue_one_bulletin_per_subscription(world, receiver):
    admin = make_caller(Role.ADMIN)
    set_language(admin.id, "es", ZONE)
    official = official_of("H1", "pt")
    mine = subscribe(admin, "C", "webhook", receiver.url, ["red"])
    theirs = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    answers: list[dict] = []
    start = threading.Barrier(2)

    def job() -> None:
        start.wait()
        answers.append(weekly())

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert len(answers) == 2
    assert sum(a["deliveries_queued"] for a in answers) == 2
    assert sorted((str(r["subscription_id"]), r["week"]) for r in bulletin_rows()) == sorted(
        [(mine["id"], "2025-SE53"), (theirs["id"], "2025-SE53")]
    )
    assert weekly()["deliveries_queued"] == 0


def test_opted_out_and_officials_who_lost_the_territory_get_none(world, receiver):
    admin = make_caller(Role.ADMIN)
    wants = subscribe(admin, "H2", "webhook", receiver.url, ["red"])
    opted_out = official_of("C", "es")
    from sentrix.i18n import Locale
    from sentrix_report.logic.subscriptions import create
    from sentrix_report.schemas.subscriptions import SubscriptionRequest
    from tests.integration.report.test_subscription_delivery import principal

    create(
        principal(opted_out),
        SubscriptionRequest(
            territory="C", channel="webhook", target=receiver.url, levels=["red"], weekly_bulletin=False
        ),
        Locale("es"),
    )
    moved = official_of("H1", "es")
    subscribe(moved, "H1", "webhook", receiver.url, ["red"])
    with session_scope() as session:  # the official is moved off H1 after subscribing
        session.execute(text("DELETE FROM official_territories WHERE user_id = :u"), {"u": moved.id})

    answer = weekly()

    assert (answer["subscriptions"], answer["deliveries_queued"], answer["bulletins_stored"]) == (1, 1, 1)
    assert [(str(r["subscription_id"]), r["week"]) for r in bulletin_rows()] == [(wants["id"], "2025-SE53")]


def test_the_subscribers_zone_decides_which_week_has_ended(world, receiver, aws):
    """At Sunday 07:00 UTC it is still Saturday 21:00 in Honolulu (UTC-10): that subscriber's last complete week
    is 2025-SE52 (21–27 December), stored apart from the Buenos Aires one. A week later both move on one week:
    2025-SE53 and 2026-SE01 (4–10 January 2026)."""
    import boto3

    island = make_caller(Role.ADMIN)
    set_language(island.id, "en", "Pacific/Honolulu")
    mainland = official_of("C", "en")
    far = subscribe(island, "C", "webhook", receiver.url, ["red"])
    near = subscribe(mainland, "C", "webhook", receiver.url, ["red"])

    first = weekly()
    later = weekly(NOW + timedelta(days=7))

    assert (first["weeks"], first["bulletins_stored"]) == (["2025-SE52", "2025-SE53"], 2)
    assert (later["weeks"], later["deliveries_queued"]) == (["2025-SE53", "2026-SE01"], 2)
    assert sorted((str(r["subscription_id"]), r["week"]) for r in bulletin_rows()) == sorted(
        [(far["id"], "2025-SE52"), (near["id"], "2025-SE53"), (far["id"], "2025-SE53"), (near["id"], "2026-SE01")]
    )
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket, Prefix="reports/bulletins/")["Contents"])
    # (the bucket is the session's: other tests' bulletins may be there too)
    assert {
        "reports/bulletins/C/2025-W52/en/Pacific/Honolulu.pdf",
        "reports/bulletins/C/2025-W53/en/America/Argentina/Buenos_Aires.pdf",
        "reports/bulletins/C/2025-W53/en/Pacific/Honolulu.pdf",
        "reports/bulletins/C/2026-W01/en/America/Argentina/Buenos_Aires.pdf",
    } <= set(keys)
    assert "reports/bulletins/C/2026-W01/en/Pacific/Honolulu.pdf" not in keys


def test_a_failing_receiver_is_retried_then_dead_lettered_like_level_changes(world, receiver, clock):
    # REPORT_DELIVERY_MAX_ATTEMPTS=4, base 30 s (the settings fixture): waits 30, 60, 120 s, then dead
    official = official_of("C", "es")
    created = subscribe(official, "C", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]
    receiver.statuses.extend([500] * 10)
    weekly()

    outcomes = []
    for wait in (0, 30, 60, 120):
        clock.advance(wait)
        outcomes.append([status for _, status in deliver(clock).outcomes])

    assert outcomes == [["pending"], ["pending"], ["pending"], ["dead"]]
    assert [(r["status"], r["attempts"]) for r in bulletin_rows()] == [("dead", 4)]
    assert len(receiver.received) == 4 and all(r.verified for r in receiver.received)
    with session_scope() as session:
        errors = session.execute(text("SELECT change_id, error FROM subscription_delivery_attempts ORDER BY id")).all()
    assert [tuple(e) for e in errors] == [(None, "answered 500")] * 4


def test_the_email_is_read_back_from_sns_in_the_subscribers_language(world, topic, aws, clock):
    official = official_of("C", "pt")
    created = subscribe(official, "C", "email", "oficial@example.org", ["red"])
    inbox = listening_queue(aws, topic, json.dumps({"subscription_id": [created["id"]]}))

    weekly()
    summary = deliver(clock)

    assert summary.delivered == 1
    [message] = drained(aws, inbox)
    assert message["Subject"] == "[Sentrix] C: boletim semanal 2025-SE53"
    body = message["Message"]
    assert body.startswith(
        f"Boletim epidemiológico semanal de C (C), semana 2025-SE53: de 2025-12-28 a 2026-01-03 ({ZONE})."
    )
    assert "- Relatos (análises concluídas): 7 (4 semanas anteriores: 12; variação: +133.33 % (16/12))" in body
    assert "- Criadouros novos: 2 (4 semanas anteriores: 2; variação: não calculada, base 2 abaixo de 10)" in body
    assert "Níveis de alerta no fim da semana: H1 amarelo (1 aglomerados abertos)" in body
    url = next(line for line in body.splitlines() if line.startswith("http"))
    pdf = httpx.get(url, timeout=30)
    assert pdf.status_code == 200
    words = pdf_text(pdf.content)
    assert "Boletim epidemiológico semanal" in words and "C (C)" in words and "2025-SE53" in words


def test_the_opt_out_is_a_boolean_of_the_post_body(world):
    admin = make_caller(Role.ADMIN)
    base = {"territory": "C", "channel": "webhook", "levels": ["red"]}

    bad = call(
        "POST",
        "/api/v1/subscriptions",
        caller=admin,
        body=base | {"target": "http://127.0.0.1:9/a", "weekly_bulletin": "yes"},
    )
    default = call("POST", "/api/v1/subscriptions", caller=admin, body=base | {"target": "http://127.0.0.1:9/b"})
    off = call(
        "POST",
        "/api/v1/subscriptions",
        caller=admin,
        body=base | {"target": "http://127.0.0.1:9/c", "weekly_bulletin": False},
    )
    listed = call("GET", "/api/v1/subscriptions", caller=admin)

    assert bad.status == 422, bad.json()
    assert "weekly_bulletin" in json.dumps(bad.json())
    assert (default.status, default.json()["weekly_bulletin"]) == (201, True)
    assert (off.status, off.json()["weekly_bulletin"]) == (201, False)
    assert {i["target"]: i["weekly_bulletin"] for i in listed.json()["items"]} == {
        "http://127.0.0.1:9/b": True,
        "http://127.0.0.1:9/c": False,
    }
    assert uuid.UUID(off.json()["id"])
