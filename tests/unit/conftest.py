"""Fixtures shared by the unit tests."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def machine_in_tucuman(monkeypatch):
    """The process's local time zone set to UTC−3, so that a rule about UTC ("naive means UTC", "written in
    UTC") cannot pass by the machine being on UTC."""
    monkeypatch.setenv("TZ", "America/Argentina/Tucuman")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
