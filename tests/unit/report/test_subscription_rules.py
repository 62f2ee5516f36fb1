"""Pure rules of alert subscriptions: where a webhook may go (SSRF, with a resolver the test controls), the
retry schedule, secrets at rest, SNS subjects, what a level change may hold (docs/alerts.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidTag

from sentrix.errors import ValidationFailed
from sentrix_report.adapters.sns_email import ascii_subject
from sentrix_report.logic import secret_box
from sentrix_report.logic.delivery_run import backoff_s
from sentrix_report.logic.level_changes import LevelChange
from sentrix_report.logic.subscription_targets import checked_address, parse_webhook_url
from sentrix_report.settings import ReportSettings


def resolver(table: dict[str, list[str]]):
    return lambda host, _port: table.get(host, [])


def reason(call) -> str:
    with pytest.raises(ValidationFailed) as caught:
        call()
    assert caught.value.details["field"] == "target"
    return caught.value.details["reason"]


def test_a_name_resolving_to_public_addresses_connects_to_the_first():
    url = parse_webhook_url("https://hooks.example.org/x", allow_loopback=False)
    resolve = resolver({"hooks.example.org": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})

    assert checked_address(url, allow_loopback=False, resolve=resolve) == "93.184.215.14"


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.5"],
        ["93.184.215.14", "192.168.1.1"],  # one private answer among public ones: the client could pick it
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["::ffff:172.16.0.1"],
        ["fe80::1"],
        ["0.0.0.0"],  # noqa: S104 - an answer to refuse, not a bind
        ["224.0.0.1"],
    ],
)
def test_a_name_resolving_to_any_non_public_address_is_refused(addresses):
    url = parse_webhook_url("https://rebinding.example.org/x", allow_loopback=False)
    resolve = resolver({"rebinding.example.org": addresses})

    assert reason(lambda: checked_address(url, allow_loopback=False, resolve=resolve)) == "private_address"


def test_loopback_is_refused_unless_the_deployment_allows_it():
    assert reason(lambda: parse_webhook_url("http://127.0.0.1:9001/x", allow_loopback=False)) == "not_https"
    assert reason(lambda: parse_webhook_url("http://localhost/x", allow_loopback=False)) == "not_https"
    https = parse_webhook_url("https://127.0.0.1/x", allow_loopback=False)
    assert reason(lambda: checked_address(https, allow_loopback=False, resolve=resolver({}))) == "private_address"

    allowed = parse_webhook_url("http://127.0.0.1:9001/x", allow_loopback=True)
    assert checked_address(allowed, allow_loopback=True, resolve=resolver({})) == "127.0.0.1"
    # Even where loopback is allowed, plain http elsewhere is not
    assert reason(lambda: parse_webhook_url("http://93.184.215.14/x", allow_loopback=True)) == "not_https"
    # and neither is a private network address
    private = parse_webhook_url("https://10.0.0.1/x", allow_loopback=True)
    assert reason(lambda: checked_address(private, allow_loopback=True, resolve=resolver({}))) == "private_address"


def test_the_retry_schedule_doubles_from_the_base_up_to_the_ceiling():
    settings = ReportSettings(delivery_backoff_base_s=30, delivery_backoff_max_s=3600)

    assert [backoff_s(k, settings) for k in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_sealed_secret_opens_only_with_its_key_and_its_subscription():
    key, other_key = secret_box.key_from_text("one key text"), secret_box.key_from_text("another key text")
    sealed = secret_box.seal(key, "whsec_abc", b"subscription-1")

    assert secret_box.open_sealed(key, sealed, b"subscription-1") == "whsec_abc"
    assert b"whsec_abc" not in sealed
    assert sealed != secret_box.seal(key, "whsec_abc", b"subscription-1")  # a fresh nonce each time
    with pytest.raises(InvalidTag):
        secret_box.open_sealed(key, sealed, b"subscription-2")
    with pytest.raises(InvalidTag):
        secret_box.open_sealed(other_key, sealed, b"subscription-1")


def test_sns_subjects_are_ascii_on_one_line_and_short():
    subject = ascii_subject("[Sentrix] São Tomé: nível de alerta vermelho")
    assert subject == "[Sentrix] Sao Tome: nivel de alerta vermelho"
    assert ascii_subject("a\nb\tc") == "a b c"
    assert len(ascii_subject("x" * 300)) == 99


def test_a_level_change_holds_known_levels_and_an_aware_time():
    at = datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown alert level"):
        LevelChange(1, "C", "C", "City", None, "green", "purple", at)
    with pytest.raises(ValueError, match="timezone-aware"):
        LevelChange(1, "C", "C", "City", None, "green", "red", datetime(2026, 12, 2, 13, 30))
