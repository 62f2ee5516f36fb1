"""Create and rotate the ES256 keys of the built-in provider: `python -m sentrix_auth.keytool --help`.

Two secrets: the private set (`--secret-id`, read by the auth function, which signs) and the public set
(`--public-secret-id`, read by the verifiers: the authorizer and the report function). Every command that
changes the private set rewrites the public set from it, in the order that keeps every token the private
set can sign verifiable at every instant:

- `init` fills an empty pair: public key first, then the private key.
- `rotate` makes a new active key and keeps the old public key in `previous` (tokens it signed stay valid
  until they expire): the new public key is published first, so verifiers know its kid before anything
  signs with it; then the private set.
- `prune` drops previous keys once those tokens are gone: from the private set first, then the public set.
- `publish` rebuilds the public set from the private one (a stack from before the split, or a repair).
- `generate` writes a local PEM file (the local stack does this by itself).

Only kids are printed, never key material.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sentrix.tokens import (
    KeysUnavailable,
    generate_private_key_pem,
    parse_key_set,
    parse_public_key_set,
    public_key_pem,
    public_key_set,
    write_key_file,
)

MAX_PREVIOUS = 3


def rotated(current: dict | None) -> dict:
    """The key set after one rotation: a fresh active key, the old active's public key first in `previous`."""
    current = current or {}
    previous = list(current.get("previous") or [])
    if current.get("active"):
        previous.insert(0, public_key_pem(current["active"]))
    return {"active": generate_private_key_pem(), "previous": previous[:MAX_PREVIOUS]}


def pruned(current: dict) -> dict:
    """The key set without its previous keys."""
    return {"active": current.get("active"), "previous": []}


def published(private_set: dict) -> dict:
    """The public set of a private set: every public key it verifies with, by kid."""
    return public_key_set(parse_key_set(json.dumps(private_set)))


def _secrets(region: str | None):
    import boto3

    return boto3.client("secretsmanager", region_name=region)


def _read(client: Any, secret_id: str) -> dict:
    text = client.get_secret_value(SecretId=secret_id)["SecretString"]
    return json.loads(text) if text.strip().startswith("{") else {"active": text, "previous": []}


def _write_private(client: Any, secret_id: str, private_set: dict) -> None:
    parse_key_set(json.dumps(private_set))  # never store something the functions cannot read
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(private_set))


def _write_public(client: Any, secret_id: str, public_set: dict) -> None:
    text = json.dumps(public_set)
    parse_public_key_set(text)  # public keys only, each under its own kid
    client.put_secret_value(SecretId=secret_id, SecretString=text)


def run(command: str, client: Any, secret_id: str, public_secret_id: str) -> str:
    """Apply one command to the pair of secrets; the line to print. ValueError when it must not run."""
    current = _read(client, secret_id)
    if command == "init":
        if current.get("active"):
            raise ValueError("the secret already holds a key; use rotate (or publish to rebuild the public set)")
        new = rotated(None)
    elif command == "rotate":
        new = rotated(current)
    elif command == "prune":
        new = pruned(current)
    elif command == "publish":
        if not current.get("active"):
            raise ValueError("the secret holds no key yet; use init")
        new = current
    else:
        raise ValueError(f"unknown command {command}")
    if command == "prune":
        # Verifiers keep accepting the dropped keys until the second write: nothing is refused early.
        _write_private(client, secret_id, new)
        _write_public(client, public_secret_id, published(new))
    else:
        # Publish first: if the second write never happens, verifiers merely know a kid nobody signs with.
        _write_public(client, public_secret_id, published(new))
        if new is not current:
            _write_private(client, secret_id, new)
    keys = parse_key_set(json.dumps(new))
    return f"{command}: active key {keys.signing_kid}, published kids {', '.join(keys.public_keys)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sentrix_auth.keytool", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["generate", "init", "rotate", "prune", "publish"])
    parser.add_argument("--secret-id", help="the private set: SigningKeySecret (ARN or name)")
    parser.add_argument("--public-secret-id", help="the public set: SigningPublicKeysSecret (ARN or name)")
    parser.add_argument("--out", type=Path, help="PEM file to create (generate)")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    if args.command == "generate":
        if not args.out:
            parser.error("generate needs --out")
        print(write_key_file(args.out))
        return 0
    if not args.secret_id or not args.public_secret_id:
        parser.error(f"{args.command} needs --secret-id and --public-secret-id")
    try:
        print(run(args.command, _secrets(args.region), args.secret_id, args.public_secret_id))
    except (ValueError, KeysUnavailable) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
