"""Putting the process environment back as it was: tests and benchmarks that set variables for a while."""

from __future__ import annotations

import os
from collections.abc import Iterable


def saved_environ(keys: Iterable[str]) -> dict[str, str | None]:
    """The current values of `keys` (None for unset), for `restore_environ`."""
    return {key: os.environ.get(key) for key in keys}


def restore_environ(saved: dict[str, str | None]) -> None:
    """Set each saved variable back to its value, or unset it if it had none."""
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
