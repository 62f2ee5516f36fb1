"""The local poller's at-least-once knob: a fixed, hash-chosen fraction of processed messages comes back twice."""

from __future__ import annotations

import uuid

import boto3
import pytest

pytestmark = pytest.mark.integration


class Recorder:
    """A consumer function that succeeds and remembers every delivery (message id, receive count)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, int]] = []

    def invoke(self, event: dict) -> dict:
        for record in event["Records"]:
            self.deliveries.append((record["messageId"], int(record["attributes"]["ApproximateReceiveCount"])))
        return {"batchItemFailures": []}


@pytest.fixture
def queue(moto_server):
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"redeliver-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield sqs, url, arn
    sqs.delete_queue(QueueUrl=url)


def drain(poller, limit: int = 200) -> None:
    idle = 0
    for _ in range(limit):
        idle = 0 if poller.poll_once() else idle + 1
        if idle == 2:
            return
    raise AssertionError("the queue did not drain")


def test_the_chosen_fraction_is_delivered_twice_more_and_then_deleted(queue):
    from sentrix_local.poller import QueuePoller

    sqs, url, arn = queue
    recorder = Recorder()
    poller = QueuePoller(sqs, url, arn, recorder, batch_size=10, retry_delay_s=0, wait_s=0, redeliver_fraction=0.3)
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"] for i in range(40)]

    drain(poller)

    counts = {m: sum(1 for d, _ in recorder.deliveries if d == m) for m in sent}
    # What the consumer saw decides which messages were chosen; the poller's own answer must agree with it.
    chosen = {m for m, n in counts.items() if n > 1}
    assert chosen == {m for m in sent if poller.selected_for_redelivery(m)}
    # 40 messages at 0.3: 12 expected, sd 2.9; bounds 4.1 sd out (a run outside them about once in 20,000; 3 sd
    # failed about once in 500 runs, seed 2382782301 chose 21)
    assert 1 <= len(chosen) <= 24
    assert {m: n for m, n in counts.items() if m in chosen} == dict.fromkeys(chosen, 3)
    assert {m: n for m, n in counts.items() if m not in chosen} == dict.fromkeys(set(sent) - chosen, 1)
    # Real SQS redeliveries: the receive count goes up each time.
    for message_id in chosen:
        assert sorted(c for d, c in recorder.deliveries if d == message_id) == [1, 2, 3]
    assert poller.redeliveries == 2 * len(chosen)
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_without_the_knob_every_processed_message_is_deleted_at_once(queue):
    from sentrix_local.poller import QueuePoller

    sqs, url, arn = queue
    recorder = Recorder()
    poller = QueuePoller(sqs, url, arn, recorder, batch_size=10, retry_delay_s=0, wait_s=0)
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"] for i in range(10)]

    drain(poller)

    assert sorted(d for d, _ in recorder.deliveries) == sorted(sent)
    assert poller.redeliveries == 0
    assert not any(poller.selected_for_redelivery(m) for m in sent)


def test_the_choice_is_reproducible_nested_and_close_to_the_fraction():
    from sentrix_local.poller import QueuePoller

    def chosen(fraction: float) -> set[str]:
        poller = QueuePoller(None, "url", "arn", Recorder(), batch_size=1, redeliver_fraction=fraction)
        return {m for m in IDS if poller.selected_for_redelivery(m)}

    at_30 = chosen(0.3)

    assert chosen(0.3) == at_30  # the same ids, a new poller: the same choice (no randomness, no state)
    # 10,000 ids at 0.3: 3,000 expected, standard deviation ~46; ±200 is over 4 sd.
    assert 2_800 <= len(at_30) <= 3_200
    assert at_30 <= chosen(0.6) and chosen(0.1) <= at_30  # a larger fraction keeps every message a smaller one chose
    assert chosen(0.0) == set() and chosen(1.0) == set(IDS)


# Fixed ids shaped like SQS message ids, so the check above is the same on every run.
IDS = [str(uuid.UUID(int=i * 0x9E3779B97F4A7C15 % 2**128)) for i in range(10_000)]


def test_the_fraction_must_be_a_fraction():
    from sentrix_local.poller import QueuePoller

    with pytest.raises(ValueError, match="between 0 and 1"):
        QueuePoller(None, "url", "arn", Recorder(), batch_size=1, redeliver_fraction=1.5)


class PutsBack:
    """A consumer that fails every message; the ones named `later*` it puts back for an hour itself, as detect
    does when YOLO is busy (ChangeMessageVisibility), the others it leaves to the poller."""

    def __init__(self, sqs, url: str) -> None:
        self.sqs, self.url = sqs, url
        self.deliveries: list[str] = []

    def invoke(self, event: dict) -> dict:
        for record in event["Records"]:
            self.deliveries.append(record["body"])
            if record["body"].startswith("later"):
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=3600
                )
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def test_a_visibility_the_function_set_is_kept(queue):
    from sentrix_local.poller import QueuePoller

    sqs, url, arn = queue
    consumer = PutsBack(sqs, url)
    poller = QueuePoller(sqs, url, arn, consumer, batch_size=10, retry_delay_s=0, wait_s=0)
    sqs.send_message(QueueUrl=url, MessageBody="later-1")
    sqs.send_message(QueueUrl=url, MessageBody="again-1")

    for _ in range(4):
        poller.poll_once()

    # The message the function put back for an hour was delivered once; the other came back at each poll.
    assert consumer.deliveries.count("later-1") == 1
    assert consumer.deliveries.count("again-1") == 4
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
