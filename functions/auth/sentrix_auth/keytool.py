"""Create and rotate the ES256 key set of the built-in provider: `python -m sentrix_auth.keytool --help`.

`init` fills an empty secret; `rotate` makes a new active key and keeps the old public key in `previous`
(tokens it signed stay valid until they expire); `prune` drops previous keys once those tokens are gone.
`generate` writes a local PEM file (the local stack does this by itself).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sentrix.tokens import generate_private_key_pem, parse_key_set, public_key_pem, write_key_file

MAX_PREVIOUS = 3


def rotated(current: dict | None) -> dict:
    """The key set after one rotation: a fresh active key, the old active's public key first in `previous`."""
    current = current or {}
    previous = list(current.get("previous") or [])
    if current.get("active"):
        previous.insert(0, public_key_pem(current["active"]))
    return {"active": generate_private_key_pem(), "previous": previous[:MAX_PREVIOUS]}


def _secrets(region: str | None):
    import boto3

    return boto3.client("secretsmanager", region_name=region)


def _read(client, secret_id: str) -> dict:
    text = client.get_secret_value(SecretId=secret_id)["SecretString"]
    return json.loads(text) if text.strip().startswith("{") else {"active": text, "previous": []}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentrix_auth.keytool", description=__doc__)
    parser.add_argument("command", choices=["generate", "init", "rotate", "prune"])
    parser.add_argument("--secret-id", help="Secrets Manager secret (ARN or name) for init/rotate/prune")
    parser.add_argument("--out", type=Path, help="PEM file to create (generate)")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    if args.command == "generate":
        if not args.out:
            parser.error("generate needs --out")
        print(write_key_file(args.out))
        return 0
    if not args.secret_id:
        parser.error(f"{args.command} needs --secret-id")
    client = _secrets(args.region)
    current = _read(client, args.secret_id)
    if args.command == "init":
        if current.get("active"):
            print("the secret already holds a key; use rotate", file=sys.stderr)
            return 1
        new = rotated(None)
    elif args.command == "rotate":
        new = rotated(current)
    else:
        new = {"active": current.get("active"), "previous": []}
    parse_key_set(json.dumps(new))  # never store something the functions cannot read
    client.put_secret_value(SecretId=args.secret_id, SecretString=json.dumps(new))
    print(f"{args.command}: active key {parse_key_set(json.dumps(new)).signing_kid}, {len(new['previous'])} previous")
    return 0


if __name__ == "__main__":
    sys.exit(main())
