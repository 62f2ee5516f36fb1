"""Throttling that cannot be used to lock people out (issue 14, point 6), with real source IPs.

Every client below connects from its own loopback address (127.x.y.z), which the gateway hands on as
`requestContext.identity.sourceIp`, exactly as API Gateway does. Failed sign-ins are limited per (account,
source IP) and per source IP; the account itself has only a streak of consecutive failures, which delays the
sources that failed and, at the NIST SP 800-63B ceiling of 100, refuses everyone. A refused attempt is
answered before any password is checked: it changes nothing, not even the counters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.security.support import auth, db_snapshot, refused
from tests.support.gateway import client_from
from tests.support.identity import DEFAULT_PASSWORD

pytestmark = pytest.mark.integration

TOO_MANY = "Too many failed sign-in attempts; try again later"
NEW_PASSWORD = "a different and long passphrase"


class Sources:
    """One HTTP client per source IP, made on first use."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.clients = {}

    def __call__(self, ip: str):
        if ip not in self.clients:
            self.clients[ip] = client_from(self.base_url, ip)
        return self.clients[ip]

    def login(self, ip: str, email: str, password: str):
        return self(ip).post("/login", json={"email": email, "password": password})

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def sources(api, security_gateway) -> Iterator[Sources]:
    found = Sources(security_gateway)
    yield found
    found.close()


@pytest.fixture
def login_settings() -> Iterator[dict[str, str]]:
    """Set LOGIN_*/PASSWORD_* variables for one test (the auth function reads them in-process)."""
    from sentrix_auth.settings import get_auth_settings

    changed: dict[str, str] = {}
    yield changed
    for name in changed:
        os.environ.pop(name, None)
    get_auth_settings.cache_clear()


def configure(login_settings: dict[str, str], **values: int) -> None:
    from sentrix_auth.settings import get_auth_settings

    for name, value in values.items():
        os.environ[name] = login_settings[name] = str(value)
    get_auth_settings.cache_clear()


def counters() -> dict[str, list[tuple]]:
    """Every rate-limit window and failure streak (a refused attempt must not move them)."""
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        return {
            "windows": sorted(connection.execute(text("SELECT bucket, window_start, hits FROM rate_limit_hits"))),
            "streaks": sorted(connection.execute(text("SELECT * FROM login_failure_streaks"))),
        }


def throttled(response, message: str = TOO_MANY, *, at_most: int = 901) -> int:
    """Assert the exact 429: envelope, Retry-After header and the same wait in the envelope; return the wait."""
    error = refused(response, 429, "rate_limited")
    assert error["message"] == message
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= at_most
    assert error["details"] == {"retry_after": wait}
    return wait


def wrong(i: int) -> str:
    return f"wrong guess number {i}"


def test_the_owner_signs_in_from_a_clean_ip_while_an_attacker_has_failed_50_times_elsewhere(sources, world):
    alice = world.alice.email
    attackers = [f"127.0.1.{n}" for n in range(1, 51)]
    answers = [sources.login(ip, alice, wrong(i)).status_code for i, ip in enumerate(attackers)]
    assert answers == [401] * 50

    # The attacker's own addresses now wait (backoff after 10 consecutive failures on the account) …
    before = db_snapshot(), counters()
    throttled(sources.login(attackers[0], alice, DEFAULT_PASSWORD), at_most=301)
    assert (db_snapshot(), counters()) == before
    # … while the owner, from an address without failures, gets in.
    owner = sources.login("127.0.2.1", alice, DEFAULT_PASSWORD)
    assert owner.status_code == 200, owner.text
    assert sources("127.0.2.1").get("/me", headers=auth(owner.json()["access_token"])).status_code == 200


def test_a_source_that_failed_just_before_a_window_boundary_still_backs_off_after_it(sources, world):
    from sqlalchemy import text

    from tests.support.admin import admin_engine

    alice = world.alice.email
    for n in range(1, 13):
        assert sources.login(f"127.0.1.{n}", alice, wrong(n)).status_code == 401
    # The per-(account, IP) windows' boundary passes (their rows move one window back): a failure seconds old
    # is still a failure of this source, so the account's backoff goes on applying to it.
    with admin_engine().begin() as connection:
        moved = connection.execute(
            text(
                "UPDATE rate_limit_hits SET window_start = window_start - make_interval(secs => 900)"
                " WHERE bucket LIKE 'login:acct-ip:%'"
            )
        ).rowcount
    assert moved == 12

    throttled(sources.login("127.0.1.1", alice, DEFAULT_PASSWORD), at_most=301)
    assert sources.login("127.0.2.1", alice, DEFAULT_PASSWORD).status_code == 200  # the owner, elsewhere


def test_a_success_ends_the_streak_and_the_backoff(sources, world):
    alice = world.alice.email
    for n in range(1, 13):
        assert sources.login(f"127.0.1.{n}", alice, wrong(n)).status_code == 401
    throttled(sources.login("127.0.1.1", alice, wrong(99)), at_most=301)  # backing off: 12 consecutive

    assert sources.login("127.0.2.1", alice, DEFAULT_PASSWORD).status_code == 200

    assert counters()["streaks"] == []
    # The streak is over, so a source that failed before is answered again (its own count is 1 of 5).
    assert sources.login("127.0.1.1", alice, wrong(100)).status_code == 401


def test_failures_are_limited_per_account_and_source_ip(sources, world):
    alice, attacker, elsewhere = world.alice.email, "127.0.1.1", "127.0.2.1"
    assert [sources.login(attacker, alice, wrong(i)).status_code for i in range(5)] == [401] * 5
    before = db_snapshot(), counters()

    throttled(sources.login(attacker, alice, wrong(5)))
    throttled(sources.login(attacker, alice, DEFAULT_PASSWORD))  # even the right password, from this IP

    assert (db_snapshot(), counters()) == before
    assert sources.login(attacker, world.bob.email, wrong(6)).status_code == 401  # other accounts: not yet
    assert sources.login(elsewhere, alice, DEFAULT_PASSWORD).status_code == 200  # the owner, elsewhere


def test_a_success_clears_the_failures_of_its_account_and_ip(sources, world):
    alice, ip = world.alice.email, "127.0.1.1"
    assert [sources.login(ip, alice, wrong(i)).status_code for i in range(4)] == [401] * 4

    assert sources.login(ip, alice, DEFAULT_PASSWORD).status_code == 200

    assert [sources.login(ip, alice, wrong(i)).status_code for i in range(5)] == [401] * 5
    throttled(sources.login(ip, alice, wrong(5)))


def test_a_source_ip_has_its_own_higher_bar_for_every_account(sources, world, login_settings):
    configure(login_settings, LOGIN_FAILURES_PER_IP=20)  # 100 by default; 20 keeps the test short
    nat = "127.0.1.1"
    sprayed = [sources.login(nat, f"spray{i}@example.org", wrong(i)).status_code for i in range(20)]
    assert sprayed == [401] * 20
    before = db_snapshot(), counters()

    throttled(sources.login(nat, "spray99@example.org", wrong(99)))
    throttled(sources.login(nat, world.bob.email, DEFAULT_PASSWORD))  # everyone behind that address waits

    assert (db_snapshot(), counters()) == before
    assert sources.login("127.0.2.1", world.bob.email, DEFAULT_PASSWORD).status_code == 200


def test_the_account_ceiling_refuses_everyone_after_100_consecutive_failures_from_many_ips(sources, world):
    alice = world.alice.email
    attackers = [f"127.0.{3 + n // 250}.{1 + n % 250}" for n in range(100)]
    answers = [sources.login(ip, alice, wrong(i)).status_code for i, ip in enumerate(attackers)]
    assert answers == [401] * 100
    before = db_snapshot(), counters()

    throttled(sources.login("127.0.2.1", alice, DEFAULT_PASSWORD))  # NIST SP 800-63B: the 101st waits
    throttled(sources.login("127.0.2.2", alice, wrong(100)))

    assert (db_snapshot(), counters()) == before
    assert counters()["streaks"][0][1] == 100
    assert sources.login("127.0.2.1", world.bob.email, DEFAULT_PASSWORD).status_code == 200  # only that account


def test_change_password_is_limited_on_its_own(sources, world):
    ip = "127.0.1.1"
    session = sources.login(ip, world.alice.email, DEFAULT_PASSWORD).json()
    headers = auth(session["access_token"])

    def change(current: str):
        body = {"current_password": current, "new_password": NEW_PASSWORD}
        return sources(ip).post("/change-password", json=body, headers=headers)

    assert [change(wrong(i)).status_code for i in range(5)] == [400] * 5
    before = db_snapshot(), counters()
    throttled(change(wrong(5)), "Too many wrong current passwords; try again later")
    throttled(change(DEFAULT_PASSWORD), "Too many wrong current passwords; try again later")
    assert (db_snapshot(), counters()) == before  # the password hash and every session are unchanged

    # Not shared with sign-in: the same account signs in from the same address.
    assert sources.login(ip, world.alice.email, DEFAULT_PASSWORD).status_code == 200


def test_failed_sign_ins_do_not_block_change_password(sources, world):
    ip, bob = "127.0.1.1", world.bob.email
    session = sources.login(ip, bob, DEFAULT_PASSWORD).json()
    for i in range(5):
        assert sources.login(ip, bob, wrong(i)).status_code == 401
    throttled(sources.login(ip, bob, DEFAULT_PASSWORD))

    changed = sources(ip).post(
        "/change-password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=auth(session["access_token"]),
    )

    assert changed.status_code == 200, changed.text


# docs/auth.md: backoff "from LOGIN_BACKOFF_AFTER (10) consecutive failures on"; the document's number.
DOCUMENTED_BACKOFF_AFTER = 10


def streak_length() -> int:
    """The consecutive failures of the one account that has a streak (0 without any)."""
    lengths = [row[1] for row in counters()["streaks"]]
    assert len(lengths) <= 1, lengths
    return lengths[0] if lengths else 0


def test_a_success_resets_the_streak_so_two_runs_just_under_the_backoff_never_add_up(sources, world):
    alice = world.alice.email
    just_under = DOCUMENTED_BACKOFF_AFTER - 1
    # One address per failure, so the (account, IP) limit of 5 never speaks: only the account's streak could.
    attackers = [f"127.0.1.{n}" for n in range(1, just_under + 1)]
    assert [sources.login(ip, alice, wrong(i)).status_code for i, ip in enumerate(attackers)] == [401] * just_under
    assert streak_length() == just_under

    assert sources.login("127.0.2.1", alice, DEFAULT_PASSWORD).status_code == 200
    assert streak_length() == 0  # the row is gone (or back to zero)

    # The same addresses fail again: were the first run still counted, the streak would pass 10 and back off.
    again = [sources.login(ip, alice, wrong(100 + i)).status_code for i, ip in enumerate(attackers)]
    assert again == [401] * just_under
    assert streak_length() == just_under
    assert sources.login("127.0.2.1", alice, DEFAULT_PASSWORD).status_code == 200


def test_the_429s_are_told_in_the_stated_language(sources, world):
    """docs/report.md (Errors): a refusal raised with a catalogue key is told in the request's language; both
    throttles carry theirs (`err.login_throttled`, `err.password_change_throttled`, messages_pt.py)."""
    ip, portuguese = "127.0.1.1", {"Accept-Language": "pt"}
    session = sources.login(ip, world.alice.email, DEFAULT_PASSWORD).json()
    for i in range(5):
        body = {"current_password": wrong(i), "new_password": NEW_PASSWORD}
        assert sources(ip).post("/change-password", json=body, headers=auth(session["access_token"])).status_code == 400
    body = {"current_password": wrong(5), "new_password": NEW_PASSWORD}
    change = sources(ip).post("/change-password", json=body, headers={**auth(session["access_token"]), **portuguese})
    throttled(change, "Senhas atuais incorretas demais; tente mais tarde")

    for i in range(5):
        assert sources.login(ip, world.bob.email, wrong(i)).status_code == 401
    login = sources(ip).post(
        "/login", json={"email": world.bob.email, "password": DEFAULT_PASSWORD}, headers=portuguese
    )
    throttled(login, "Tentativas de login malsucedidas demais; tente mais tarde")
