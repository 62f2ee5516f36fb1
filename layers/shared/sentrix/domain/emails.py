"""Email addresses: validated by a deliberately plain rule and normalised to lowercase (unique case-insensitively).

Shared by sign-up (sentrix_auth) and the first-admin bootstrap (sentrix.first_admin), so both accept the same
addresses.
"""

from __future__ import annotations

import re

# Dot-atom local part (RFC 5322 without quoted strings) and a hostname with a TLD; IDNs arrive as punycode.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(xn--[A-Za-z0-9-]{1,59}|[A-Za-z]{2,63})$")


def normalise_email(value: str) -> str:
    """The address trimmed and lowercased; ValueError (→ 422) unless it looks like a deliverable address."""
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > 254 or len(local) > 64:
        raise ValueError("Not a valid email address")
    labels = domain.split(".")
    if not _LOCAL.match(local) or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("Not a valid email address")
    if not _TLD.match(labels[-1]):
        raise ValueError("Not a valid email address")
    return email
