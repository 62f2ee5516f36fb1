#!/usr/bin/env bash
# Print the path of a real Python 3.12 interpreter: the Lambda runtime's version.
# pyenv's shim is skipped on purpose: `sam build` and venvs must point at the interpreter itself.
set -euo pipefail
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for candidate in "$root"/versions/3.12*/bin/python3.12; do
    if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
  done
fi
for candidate in /usr/local/bin/python3.12 /usr/bin/python3.12; do
  if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "Python 3.12 not found: install it (pyenv install 3.12) or put python3.12 on PATH" >&2
exit 1
