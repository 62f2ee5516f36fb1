"""Webhook secrets at rest: AES-256-GCM under a key kept outside the database (pure functions).

The secret must be usable to sign, so it cannot be hashed; it is encrypted instead, with the subscription's id
as associated data (a ciphertext copied onto another subscription's row does not open). Stored as
nonce (12 bytes) + ciphertext-and-tag. The key is SHA-256 of a key text (a Secrets Manager secret in the
cloud), so any secret text of enough entropy makes a 256-bit key.
"""

from __future__ import annotations

import hashlib
import os

NONCE_BYTES = 12


def key_from_text(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def seal(key: bytes, plaintext: str, associated: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), associated)


def open_sealed(key: bytes, blob: bytes, associated: bytes) -> str:
    """The plaintext; cryptography's InvalidTag when the key, the blob or the associated data do not match."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key).decrypt(bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:]), associated).decode()
