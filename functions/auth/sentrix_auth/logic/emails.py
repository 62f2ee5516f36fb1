"""Email addresses: the rule lives in the shared layer (the deploy hook checks the first admin's address too)."""

from __future__ import annotations

from sentrix.domain.emails import normalise_email

__all__ = ["normalise_email"]
