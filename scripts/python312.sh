#!/usr/bin/env bash
# Print the path of a real Python 3.12 interpreter (the Lambda runtime's version), for the project's venvs
# and for `sam build`. SAM_PYTHON=/path/to/python3.12 overrides the lookup.
set -euo pipefail

# Print the real Python 3.12 executable (never a pyenv shim: a shim resolves through whatever
# pyenv version is active, and `sam build` must find the 3.12 binary itself on PATH).
find_python312() {
    local candidate resolved
    local -a candidates=()
    if [[ -n "${SAM_PYTHON:-}" ]]; then
        candidates+=("$SAM_PYTHON")
    fi
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root="$(pyenv root)"
        # Newest 3.12.x first.
        while IFS= read -r candidate; do
            candidates+=("$candidate")
        done < <(compgen -G "$root/versions/3.12.*/bin/python3.12" | sort -rV || true)
    fi
    if candidate="$(command -v python3.12 2>/dev/null)"; then
        candidates+=("$candidate")
    fi
    for candidate in "${candidates[@]}"; do
        [[ -x "$candidate" ]] || continue
        # Asking the interpreter for sys.executable resolves shims and symlinked launchers; a shim
        # whose version is not active fails here and is skipped.
        resolved="$("$candidate" -c 'import sys
if sys.version_info[:2] != (3, 12):
    raise SystemExit(1)
print(sys.executable)' 2>/dev/null)" || continue
        if [[ -n "$resolved" && -x "$resolved" ]]; then
            echo "$resolved"
            return 0
        fi
    done
    return 1
}

find_python312 || {
    echo "Python 3.12 not found: install it (pyenv install 3.12; or python3.12 and python3.12-venv from apt) or set SAM_PYTHON=/path/to/python3.12" >&2
    exit 1
}
