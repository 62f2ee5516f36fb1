"""Delivering alert level changes (docs/alerts.md, "Subscriptions and delivery"): a real webhook receiver over HTTP
that checks the signature with its own HMAC code, retries with backoff on a clock the test moves, the dead letter,
every attempt recorded, one delivery per subscription and change however often delivery runs, and e-mail through
moto's SNS (read back through SQS queues subscribed to the topic with the same filter policy).

Expected waits are the documented schedule worked out by hand: base 30 s doubling (30, 60, 120 s) and, with
REPORT_DELIVERY_MAX_ATTEMPTS=4 here, the 4th failure is final.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from tests.integration.report.conftest import make_caller
from tests.integration.report.subscriptions_support import (
    Clock,
    Receiver,
    assign,
    city,
    set_language,
    start_of_test,
    verify,
)

pytestmark = pytest.mark.integration

KEY = "test-only-webhook-key-0123456789abcdef"
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings(db, monkeypatch) -> Iterator[None]:
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_WEBHOOK_KEY", KEY)
    monkeypatch.setenv("REPORT_DELIVERY_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("REPORT_DELIVERY_BACKOFF_BASE_S", "30")
    get_report_settings.cache_clear()
    yield
    get_report_settings.cache_clear()


@pytest.fixture
def clock() -> Clock:
    return Clock(start_of_test())


@pytest.fixture
def receiver(clock) -> Iterator[Receiver]:
    server = Receiver(clock).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def official(settings):
    city()
    caller = make_caller(Role.OFFICIAL)
    assign(caller.id, "H1")
    set_language(caller.id, "pt")
    return caller


def principal(caller) -> Principal:
    return Principal(user_id=caller.id, role=caller.role, email=caller.email)


def subscribe(caller, territory: str, channel: str, target: str, levels: list[str]) -> dict:
    from sentrix_report.logic.subscriptions import create
    from sentrix_report.schemas.subscriptions import SubscriptionRequest

    request = SubscriptionRequest(territory=territory, channel=channel, target=target, levels=levels)
    return create(principal(caller), request, Locale("en"))


ALERT = "6f1d2c3b-0000-4000-8000-000000000007"


def change(change_id: int, code: str, name: str, old: str, new: str, alert_id: str | None = ALERT):
    from sentrix_report.logic.level_changes import LevelChange

    return LevelChange(
        change_id=change_id,
        territory_id=code,
        territory_code=code,
        territory_name=name,
        alert_id=alert_id,
        old_level=old,
        new_level=new,
        changed_at=datetime(2026, 12, 2, 13, 30, tzinfo=UTC),
    )


def queue_changes(changes, now: datetime) -> int:
    from sentrix_report.logic.level_changes import deliver_level_changes

    with session_scope() as session:
        return deliver_level_changes(session, changes, now=now)


def run(clock: Clock, **kwargs):
    from sentrix_report.logic.delivery_run import run_deliveries

    return run_deliveries(now=clock, **kwargs)


def deliveries() -> list[dict]:
    with session_scope() as session:
        rows = session.execute(
            text("SELECT subscription_id, change_id, status, attempts FROM subscription_deliveries ORDER BY id")
        ).mappings()
        return [dict(row) for row in rows]


def attempts() -> list[dict]:
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT subscription_id, change_id, attempt, status_code, error, at "
                "FROM subscription_delivery_attempts ORDER BY id"
            )
        ).mappings()
        return [dict(row) for row in rows]


def test_a_level_change_reaches_the_webhook_signed_once_in_the_subscribers_language(official, receiver, clock):
    # Given an official of H1 (Portuguese) subscribed by webhook to H1's red level
    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]

    # When N1 (below H1) turns red, and delivery runs
    assert queue_changes([change(101, "N1", "Barrio Norte", "yellow", "red")], clock()) == 1
    summary = run(clock)

    # Then the receiver got one request whose signature its own code accepts
    assert (summary.claimed, summary.delivered) == (1, 1)
    [got] = receiver.received
    assert got.verified and got.answered == 200
    assert got.path == "/hooks/sentrix"
    assert got.headers["Sentrix-Event"] == "alert.level_changed"
    assert got.headers["Content-Type"] == "application/json"
    body = json.loads(got.body)
    assert body["subscription_id"] == created["id"]
    assert (body["change_id"], body["alert_id"]) == (101, ALERT)
    assert body["territory"] == {"code": "N1", "name": "Barrio Norte"}
    assert (body["old_level"], body["new_level"]) == ("yellow", "red")
    assert body["language"] == "pt"
    # 13:30 UTC is 10:30 in Buenos Aires (UTC-3), the subscriber's zone
    assert body["text"] == (
        "Barrio Norte (N1): o nível de alerta passou de amarelo para vermelho em "
        "2026-12-02 10:30 (UTC-03:00) America/Argentina/Buenos_Aires"
    )
    assert got.headers["Sentrix-Delivery"] == str(body["delivery_id"])
    # And it was recorded: delivered after one attempt, answered 200, at the clock's time
    assert deliveries() == [
        {"subscription_id": uuid.UUID(created["id"]), "change_id": 101, "status": "delivered", "attempts": 1}
    ]
    assert attempts() == [
        {
            "subscription_id": uuid.UUID(created["id"]),
            "change_id": 101,
            "attempt": 1,
            "status_code": 200,
            "error": None,
            "at": clock(),
        }
    ]

    # When the same change is handed over again (the next scheduled run) and delivery runs twice more
    assert queue_changes([change(101, "N1", "Barrio Norte", "yellow", "red")], clock()) == 0
    clock.advance(3600)
    run(clock)
    run(clock)

    # Then nothing more was sent
    assert len(receiver.received) == 1
    assert len(attempts()) == 1


def test_only_subscribed_levels_and_territories_below_are_queued(official, receiver, clock):
    created = subscribe(official, "H1", "webhook", receiver.url, ["yellow", "red"])
    receiver.secret = created["secret"]

    queued = queue_changes(
        [
            change(1, "N1", "Barrio Norte", "green", "yellow"),  # below H1, a subscribed level
            change(2, "H1", "Área Oeste", "yellow", "green"),  # green: not subscribed
            change(3, "H2", "Área Este", "green", "red"),  # a sibling of H1, not below it
            change(4, "C", "San Miguel de Tucumán", "green", "red"),  # above H1
        ],
        clock(),
    )

    assert queued == 1
    assert [(d["change_id"], d["status"]) for d in deliveries()] == [(1, "pending")]


def test_an_official_who_lost_the_territory_is_not_told(official, receiver, clock):
    subscribe(official, "H1", "webhook", receiver.url, ["red"])
    with session_scope() as session:
        session.execute(text("DELETE FROM official_territories WHERE user_id = :u"), {"u": official.id})

    assert queue_changes([change(5, "N1", "Barrio Norte", "yellow", "red")], clock()) == 0


def test_failures_are_retried_with_exponential_backoff_then_dead_lettered(official, receiver, clock):
    # Given a receiver that answers 500 to everything
    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]
    receiver.statuses.extend([500] * 10)
    start = clock()
    queue_changes([change(9, "H1", "Área Oeste", "yellow", "red")], start)

    # When delivery runs every 10 s of the test's clock for ten minutes
    dead = 0
    for _ in range(60):
        dead += run(clock).dead
        clock.advance(10)

    # Then attempts came at 0, 30, 90 and 210 s (waits of 30, 60, 120 s) and the 4th failure was final
    made = attempts()
    assert [(a["attempt"], a["status_code"], a["error"]) for a in made] == [
        (n, 500, "answered 500") for n in (1, 2, 3, 4)
    ]
    assert [int((a["at"] - start).total_seconds()) for a in made] == [0, 30, 90, 210]
    assert {a["subscription_id"] for a in made} == {uuid.UUID(created["id"])}
    assert {a["change_id"] for a in made} == {9}
    assert dead == 1
    assert [(d["status"], d["attempts"]) for d in deliveries()] == [("dead", 4)]
    # Every attempt was the same delivery, each signed afresh and accepted by the receiver's check
    assert len(receiver.received) == 4
    assert all(r.verified for r in receiver.received)
    assert len({r.headers["Sentrix-Delivery"] for r in receiver.received}) == 1
    stamps = [r.headers["Sentrix-Signature"].split(",")[0] for r in receiver.received]
    assert stamps == [f"t={int(start.timestamp()) + s}" for s in (0, 30, 90, 210)]


def test_a_receiver_that_recovers_gets_the_change_once(official, receiver, clock):
    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]
    receiver.statuses.extend([503])
    queue_changes([change(11, "H1", "Área Oeste", "yellow", "red")], clock())

    first = run(clock)
    clock.advance(29)
    early = run(clock)
    clock.advance(1)
    second = run(clock)
    clock.advance(3600)
    later = run(clock)

    assert (first.retried, early.claimed, second.delivered, later.claimed) == (1, 0, 1, 0)
    assert [(a["attempt"], a["status_code"]) for a in attempts()] == [(1, 503), (2, 200)]
    assert [r.answered for r in receiver.received] == [503, 200]
    assert [(d["status"], d["attempts"]) for d in deliveries()] == [("delivered", 2)]


def test_an_unreachable_receiver_is_recorded_as_an_error(official, clock):
    from sentrix_local.processes import free_port

    subscribe(official, "H1", "webhook", f"http://127.0.0.1:{free_port()}/nobody", ["red"])
    queue_changes([change(12, "H1", "Área Oeste", "yellow", "red")], clock())

    summary = run(clock)

    assert summary.retried == 1
    [made] = attempts()
    assert made["status_code"] is None
    assert made["error"] == "no answer: ConnectError"


def test_an_attempts_error_is_kept_to_its_first_500_characters(official, clock):
    # A receiver or SNS can say a lot; the attempt keeps the first 500 characters (the column's size), whole
    from sentrix_report.dal import subscriptions as dal

    made = subscribe(official, "H1", "webhook", "http://127.0.0.1:9/nobody", ["red"])
    queue_changes([change(12, "H1", "Área Oeste", "yellow", "red")], clock())
    with session_scope() as session:
        delivery_id = session.execute(text("SELECT id FROM subscription_deliveries")).scalar_one()
    error = "".join(chr(ord("a") + i % 26) for i in range(700))
    with session_scope() as session:
        dal.record_attempt(
            session,
            delivery_id=delivery_id,
            subscription_id=uuid.UUID(made["id"]),
            change_id=12,
            attempt=1,
            status_code=None,
            error=error,
            at=clock(),
        )

    [kept] = attempts()
    assert kept["error"] == error[:500] and len(kept["error"]) == 500


def test_the_receivers_check_refuses_tampered_bodies_and_old_timestamps(official, receiver, clock):
    # Given a delivered, genuine request
    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]
    queue_changes([change(13, "H1", "Área Oeste", "yellow", "red")], clock())
    run(clock)
    [genuine] = receiver.received
    signature = genuine.headers["Sentrix-Signature"]

    def replay(body: bytes) -> int:
        headers = {"Sentrix-Signature": signature, "Content-Type": "application/json"}
        return httpx.post(receiver.url, content=body, headers=headers, timeout=10).status_code

    # When it is replayed at once, with one byte of the body changed, and replayed ten minutes later
    same = replay(genuine.body)
    tampered = replay(genuine.body.replace(b'"red"', b'"RED"'))
    clock.advance(600)
    late = replay(genuine.body)

    # Then only the untouched, fresh copy passes
    assert (same, tampered, late) == (200, 401, 401)
    # and another secret would not have verified it either
    assert not verify("whsec_someone-else", signature, genuine.body, clock())


def test_a_deleted_subscription_sends_nothing_pending(official, receiver, clock):
    from sentrix_report.logic.subscriptions import delete

    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    queue_changes([change(14, "H1", "Área Oeste", "yellow", "red")], clock())

    delete(principal(official), uuid.UUID(created["id"]))
    summary = run(clock)

    assert summary.claimed == 0
    assert receiver.received == []
    assert deliveries() == []


def test_webhook_secrets_are_stored_encrypted(official, receiver):
    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])

    with session_scope() as session:
        stored = session.execute(
            text("SELECT secret_ciphertext FROM alert_subscriptions WHERE id = :id"), {"id": created["id"]}
        ).scalar_one()

    assert created["secret"].startswith("whsec_")
    assert created["secret"].encode() not in bytes(stored)
    assert len(bytes(stored)) > len(created["secret"])


# -- e-mail through SNS (moto) ---------------------------------------------------------------------------------------


@pytest.fixture
def topic(settings, aws, monkeypatch) -> Iterator[str]:
    import boto3

    from sentrix_report.settings import get_report_settings
    from tests.conftest import aws_prefix

    sns = boto3.client("sns", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    arn = sns.create_topic(Name=f"{aws_prefix()}-alert-subscriptions")["TopicArn"]
    monkeypatch.setenv("REPORT_SUBSCRIPTIONS_TOPIC_ARN", arn)
    get_report_settings.cache_clear()
    yield arn
    for subscription in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sns.delete_topic(TopicArn=arn)


def listening_queue(aws, topic_arn: str, filter_policy: str) -> str:
    """An SQS queue subscribed to the topic with `filter_policy`: what an address with that filter would get."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    sns = boto3.client("sns", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"alerts-listener-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"FilterPolicy": filter_policy})
    return url


def drained(aws, url: str) -> list[dict]:
    import boto3

    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    sqs.delete_queue(QueueUrl=url)
    return [json.loads(m["Body"]) for m in messages]


def test_email_goes_through_sns_to_the_one_address_in_its_language(official, topic, aws, clock):
    import boto3

    sns = boto3.client("sns", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    admin = make_caller(Role.ADMIN)
    set_language(admin.id, "en", "UTC")
    # Given two e-mail subscriptions to C's red level: an admin (English) and the H1 official... who may not
    # subscribe to C (above their territory), so the official subscribes to H1
    mine = subscribe(admin, "C", "email", "Jefa.Programa@Example.org", ["red"])
    theirs = subscribe(official, "H1", "email", "oficial@example.org", ["red"])

    # Then each is an SNS e-mail subscription of the topic, filtered on its own id
    stored = {s["Endpoint"]: s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert {e: s["Protocol"] for e, s in stored.items()} == {
        "jefa.programa@example.org": "email",
        "oficial@example.org": "email",
    }
    attributes = sns.get_subscription_attributes(
        SubscriptionArn=stored["jefa.programa@example.org"]["SubscriptionArn"]
    )["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"subscription_id": [mine["id"]]}

    # When C turns red and delivery runs, with a listener per filter
    admins_copy = listening_queue(aws, topic, attributes["FilterPolicy"])
    officials_copy = listening_queue(aws, topic, json.dumps({"subscription_id": [theirs["id"]]}))
    assert queue_changes([change(21, "C", "San Miguel de Tucumán", "yellow", "red", alert_id=None)], clock()) == 1
    summary = run(clock)

    # Then the admin's address got one message in English, the official's none (C is not below H1)
    assert summary.delivered == 1
    [message] = drained(aws, admins_copy)
    assert drained(aws, officials_copy) == []
    assert message["Subject"] == "[Sentrix] San Miguel de Tucuman: alert level red"  # SNS subjects are ASCII
    assert message["MessageAttributes"]["subscription_id"]["Value"] == mine["id"]
    assert message["Message"].startswith(
        "The alert level of San Miguel de Tucumán (C) changed from yellow to red on 2026-12-02 13:30 (UTC+00:00) UTC."
    )
    assert "Alert: none (the territory has no open cluster)" in message["Message"]
    assert [(a["status_code"], a["error"]) for a in attempts()] == [(None, None)]


def test_deleting_an_email_subscription_unsubscribes_its_address(official, topic, aws):
    import boto3

    from sentrix_report.logic.subscriptions import delete

    sns = boto3.client("sns", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    created = subscribe(official, "N1", "email", "oficial@example.org", ["yellow"])

    delete(principal(official), uuid.UUID(created["id"]))

    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_the_scheduled_handler_runs_one_delivery_round(official, receiver, clock):
    from sentrix_report.deliver import handler
    from tests.builders import LambdaContext

    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]
    queue_changes([change(31, "H1", "Área Oeste", "yellow", "red")], datetime.now(UTC))
    event = json.loads((REPO_ROOT / "events" / "deliver-schedule.json").read_text(encoding="utf-8"))

    answer = handler(event, LambdaContext("DeliveryFunction", 180))

    assert answer == {"claimed": 1, "delivered": 1, "retried": 0, "dead": 0, "left": 0}
    assert [r.verified for r in receiver.received] == [True]


def test_a_run_short_of_time_leaves_the_rest_for_a_later_run(official, receiver, clock, monkeypatch):
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_DELIVERY_LEASE_S", "60")
    get_report_settings.cache_clear()
    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]
    queue_changes(
        [change(41, "H1", "Área Oeste", "green", "red"), change(42, "N1", "Barrio Norte", "green", "red")], clock()
    )
    time_left = iter([60_000, 5_000])  # the second delivery would start with 5 s left, under the 10 s margin

    first = run(clock, time_left_ms=lambda: next(time_left))
    clock.advance(59)
    leased = run(clock)
    clock.advance(1)
    second = run(clock)

    assert (first.delivered, first.left) == (1, 1)
    assert leased.claimed == 0  # still leased to the first run
    assert second.delivered == 1
    assert sorted(json.loads(r.body)["change_id"] for r in receiver.received) == [41, 42]


def test_two_runs_at_once_send_each_delivery_once(official, receiver, clock):
    import threading

    created = subscribe(official, "H1", "webhook", receiver.url, ["red"])
    receiver.secret = created["secret"]
    changes = [change(100 + n, "N1", "Barrio Norte", "yellow", "red") for n in range(12)]
    queue_changes(changes, clock())
    summaries: list = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        summaries.append(run(clock))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Each run claimed its own rows (SKIP LOCKED): together exactly the twelve, each sent once
    assert sum(s.claimed for s in summaries) == 12
    assert sum(s.delivered for s in summaries) == 12
    sent = sorted(json.loads(r.body)["change_id"] for r in receiver.received)
    assert sent == [100 + n for n in range(12)]
    assert [(d["status"], d["attempts"]) for d in deliveries()] == [("delivered", 1)] * 12


def test_the_daily_computation_queues_each_recorded_change_once_for_its_subscribers(settings, receiver, clock):
    """The scheduled daily job (sentrix_report.scheduled) records the level changes and, in the same transaction,
    queues them for delivery. Three confirmed sites 100 m apart in H1 reported today make a yellow alert: C and H1
    turn yellow (docs/alerts.md). An official of H1 subscribed to H1's yellow gets H1's change, not C's (above
    their subscription); the same run again records nothing new and queues nothing."""
    from sentrix_report import scheduled
    from tests.integration.report.alert_world import site, territories

    territories()
    caller = make_caller(Role.OFFICIAL)
    assign(caller.id, "H1")
    created = subscribe(caller, "H1", "webhook", receiver.url, ["yellow"])
    receiver.secret = created["secret"]
    now = clock()
    for east_m in (0, 100, 200):
        site(east_m, now)

    first = scheduled.run("daily", now)
    again = scheduled.run("daily", now)
    summary = run(clock)

    assert (first["level_changes"], first["deliveries_queued"]) == (2, 1)
    assert (again["level_changes"], again["deliveries_queued"]) == (0, 0)
    with session_scope() as session:
        alert_id, h1_change = session.execute(
            text("SELECT alert_id, id FROM alert_level_changes WHERE territory_code = 'H1'")
        ).one()
    (got,) = receiver.received
    body = json.loads(got.body)
    assert (body["subscription_id"], body["change_id"], body["alert_id"]) == (created["id"], h1_change, str(alert_id))
    assert body["territory"] == {"code": "H1", "name": "H1"}
    assert (body["old_level"], body["new_level"]) == ("green", "yellow")
    assert [(d["change_id"], d["status"]) for d in deliveries()] == [(h1_change, "delivered")]
    assert summary.delivered == 1
