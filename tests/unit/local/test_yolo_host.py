"""Which YOLO host `make dev` uses: the URL checks, what may be shown of it, and the probe of a host that is down."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

SECRET = "tok-77c1-never-shown"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://user:{SECRET}@gpu.example.org/yolo?token={SECRET}#{SECRET}", "https://gpu.example.org/yolo"),
        (f"http://{SECRET}@10.0.3.4:8000", "http://10.0.3.4:8000"),
        ("HTTPS://GPU.Example.org:8443/", "https://gpu.example.org:8443/"),
        (f"http://user:{SECRET}@[::1]:8001", "http://[::1]:8001"),
        (f"https://a:{SECRET}@b@gpu.example.org", "https://gpu.example.org"),
    ],
)
def test_a_shown_url_keeps_scheme_host_port_and_path_only(url, expected):
    from sentrix.urls import shown

    assert shown(url) == expected


@pytest.mark.parametrize("url", [f"https://u:{SECRET}@h:99999", f"https://u:{SECRET}@", "no url at all", ""])
def test_a_url_that_cannot_be_taken_apart_is_shown_as_unreadable(url):
    from sentrix.urls import shown

    assert shown(url) == "(unreadable URL)"


@pytest.mark.parametrize(
    "url", ["https://gpu.example.org", "http://10.0.3.4:8000/v1/", f"https://u:{SECRET}@gpu.example.org:8443"]
)
def test_an_http_or_https_url_with_a_host_is_used_as_given(url):
    from sentrix_local.yolo_host import external_url

    assert external_url(f"  {url} ") == url


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_url_means_the_stand_in(value):
    from sentrix_local.yolo_host import external_url

    assert external_url(value) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://gpu.example.org", "the scheme must be http or https, not ftp"),
        ("//gpu.example.org", "the scheme must be http or https"),
        ("http:///detect", "it names no host"),
        ("http://gpu.example.org:port", "its host or port cannot be read"),
        ("http://gpu.example.org:0", "port 0"),
        ("http://gpu example.org", "it contains whitespace"),
        (f"https://gpu.example.org/?token={SECRET}", "a query or fragment cannot be used"),
    ],
)
def test_an_unusable_url_is_refused_saying_why_without_its_secrets(url, problem):
    from sentrix_local.preflight import StackError
    from sentrix_local.yolo_host import external_url

    with pytest.raises(StackError) as refused:
        external_url(url)

    assert problem in str(refused.value)
    assert SECRET not in str(refused.value)


def test_only_the_stand_ins_own_variables_are_reported_ignored():
    from sentrix_local.yolo_host import ignored_standin_settings

    environ = {"YOLO_STANDIN_PROFILE": "original", "YOLO_STANDIN_FAULTS": "{}", "YOLO_READ_TIMEOUT_S": "2"}
    assert ignored_standin_settings(environ) == ["YOLO_STANDIN_FAULTS", "YOLO_STANDIN_PROFILE"]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on (bound, never listening: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_host_that_does_not_answer_is_a_warning_not_a_refusal(closed_port):
    from sentrix_local.yolo_host import announce

    url = f"http://user:{SECRET}@127.0.0.1:{closed_port}"
    lines = announce(url, {"YOLO_STANDIN_PROFILE": "original"})

    assert [level for level, _ in lines] == ["INFO", "INFO", "WARNING"]
    assert lines[0][1].startswith(f"YOLO host: http://127.0.0.1:{closed_port} ")
    assert "YOLO_STANDIN_PROFILE" in lines[1][1]
    warning = lines[2][1]
    assert warning.startswith(f"YOLO host http://127.0.0.1:{closed_port}: no answer (ConnectError); starting anyway")
    assert all(SECRET not in text for _, text in lines)


def test_only_model_and_version_facts_of_a_health_body_are_passed_on():
    from sentrix.http.health import yolo_reported

    body = {
        "status": "healthy",
        "model": "yolo11s-seg-dengue",
        "model_loaded": True,
        "version": "2.1.0",
        "device": "x" * 200,
        "model_path": "/srv/models/secret.pt",
        "gpu": {"name": "A10G"},
        "model_version": None,
    }
    assert yolo_reported(body) == {
        "model": "yolo11s-seg-dengue",
        "model_loaded": True,
        "version": "2.1.0",
        "device": "x" * 80,
    }
