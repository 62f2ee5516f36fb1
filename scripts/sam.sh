#!/usr/bin/env bash
# SAM CLI and cfn-lint in their own virtualenv (.venv-sam): they pin older boto3/pydantic than the
# functions use, so they never share the project's .venv.
#
#   bash scripts/sam.sh venv       create/refresh .venv-sam (no-op when already up to date)
#   bash scripts/sam.sh validate   sam validate --lint + cfn-lint with the serverless rule pack
#   bash scripts/sam.sh build      sam build (no container: uses the local Python 3.12), into $SAM_BUILD_ROOT
#   bash scripts/sam.sh deploy --config-env dev|prod [--dry-run] [Name=Value ...]
#                                  sam deploy with samconfig's parameters + the given ones + a fresh DeploymentId
#                                  (--dry-run prints the command instead)
#   bash scripts/sam.sh <args>     any other sam command, e.g. `bash scripts/sam.sh logs --config-env dev`
#
# SAM_PYTHON=/path/to/python3.12 overrides the interpreter lookup. SAM_BUILD_ROOT (default .aws-sam) holds
# build/ and cache/: tests build into their own state dir so concurrent runs do not share one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-sam"
REQUIREMENTS="$ROOT/requirements/sam.txt"
TEMPLATE="infra/template.yaml"
# Passed explicitly: with a template outside the working directory SAM looks for the config file
# next to the template (infra/samconfig.toml), not in the repository root.
CONFIG="$ROOT/samconfig.toml"
STAMP="$VENV/.sentrix-stamp"
BUILD_ROOT="${SAM_BUILD_ROOT:-$ROOT/.aws-sam}"
# What the Makefiles of `sam build` run. SAM's cache is keyed by each CodeUri directory's content only, so
# a change here must invalidate it by hand (cmd_build).
BUILD_TOOLS=("$ROOT/infra/build/package.py" "$ROOT/infra/build/Makefile" "$ROOT"/layers/*/Makefile)

export SAM_CLI_TELEMETRY=0
# Keep SAM from checking for a newer release on every call (there is no internet here anyway).
export SAM_CLI_DISABLE_UPDATE_CHECK=1

die() {
    echo "sam.sh: $*" >&2
    exit 1
}

# python312.sh's own message would come twice: keep ours only.
PY312="$("$ROOT/scripts/python312.sh" 2>/dev/null)" ||
    die "Python 3.12 not found: install it (pyenv install 3.12, or python3.12 from apt) or set SAM_PYTHON"

stamp_value() {
    echo "python=$PY312"
    sha256sum "$REQUIREMENTS" | cut -d' ' -f1
}

cmd_venv() {
    local want
    want="$(stamp_value)"
    if [[ -f "$STAMP" && -x "$VENV/bin/sam" && "$(cat "$STAMP")" == "$want" ]]; then
        echo "sam.sh: $VENV is up to date"
        return 0
    fi
    # A venv built from another interpreter (or half-built) is rebuilt from scratch.
    if [[ -d "$VENV" && "$(head -n1 "$STAMP" 2>/dev/null || true)" != "python=$PY312" ]]; then
        rm -rf "$VENV"
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "sam.sh: creating $VENV with $PY312" >&2  # progress on stderr: a dry run prints only the command on stdout
        "$PY312" -m venv "$VENV"
    fi
    # -qq: this machine's pip configuration names extra indexes that may be absent, and pip warns
    # about each of them for every package; errors still show.
    "$VENV/bin/python" -m pip install -qq --upgrade pip
    "$VENV/bin/python" -m pip install -qq -r "$REQUIREMENTS"
    echo "$want" >"$STAMP"
    "$VENV/bin/sam" --version
    "$VENV/bin/cfn-lint" --version
}

ensure_venv() {
    [[ -x "$VENV/bin/sam" ]] || cmd_venv
}

# The venv's bin first (sam, cfn-lint), then the 3.12 interpreter's dir: `sam build` looks up
# `python3.12` on PATH for the python3.12 runtime and must not hit a pyenv shim.
sam_path() {
    echo "$VENV/bin:$(dirname "$PY312"):$PATH"
}

cmd_validate() {
    ensure_venv
    cd "$ROOT"
    PATH="$(sam_path)" sam validate --config-file "$CONFIG" --lint --template-file "$TEMPLATE"
    PATH="$(sam_path)" cfn-lint --append-rules cfn_lint_serverless.rules -- "$TEMPLATE"
    # The resource-import templates (docs/infra.md, Teardown and what survives it) are deployed by hand: lint them too.
    PATH="$(sam_path)" cfn-lint -- infra/import/*.yaml
    # The optional YOLO host stack (infra/yolo-host.yaml, docs/infra.md "The YOLO host") is deployed on its own.
    PATH="$(sam_path)" cfn-lint --append-rules cfn_lint_serverless.rules -- infra/yolo-host.yaml
    echo "sam.sh: cfn-lint (with cfn_lint_serverless.rules): no findings"
}

cmd_build() {
    ensure_venv
    cd "$ROOT"
    mkdir -p "$BUILD_ROOT"
    local tools_hash
    tools_hash="$(cat "${BUILD_TOOLS[@]}" | sha256sum | cut -d' ' -f1)"
    if [[ "$(cat "$BUILD_ROOT/.sentrix-build-tools" 2>/dev/null || true)" != "$tools_hash" ]]; then
        rm -rf "$BUILD_ROOT/cache"
        echo "$tools_hash" >"$BUILD_ROOT/.sentrix-build-tools"
    fi
    # Dependencies of the layers, installed once per requirements file (infra/build/package.py), shared by
    # every build root: installing them is most of a layer's build time.
    SENTRIX_DEPS_CACHE="${SENTRIX_DEPS_CACHE:-$ROOT/.aws-sam/sentrix-deps}" PATH="$(sam_path)" \
        sam build --config-file "$CONFIG" --template-file "$TEMPLATE" \
        --build-dir "$BUILD_ROOT/build" --cache-dir "$BUILD_ROOT/cache" "$@" 2>&1 | without_sam_next_steps
    echo "Next: \`make sizes\` (bundle sizes), then \`make deploy ENV=dev PARAMS=\"YoloServiceUrl=https://… AlarmEmail=…\"\`"
    echo "(README.md, *Deploying*). \`sam local invoke\` needs Docker; \`make dev\` runs the functions locally without it."
}

# SAM ends a build with "Commands you can use next" (sam local invoke, sam deploy --guided): not this
# project's commands, which `make deploy` wraps (samconfig environments, parameters, a fresh DeploymentId).
without_sam_next_steps() {
    awk '/^Commands you can use next/ { skipping = 1; next }
         skipping && (/^=+$/ || /^\[\*\]/ || /^[[:space:]]*$/) { next }
         { skipping = 0; print; fflush() }'
}

# samconfig's parameter_overrides of an environment, for cmd_deploy to extend (a --parameter-overrides on
# the command line would replace them, not add to them).
config_overrides() {
    "$PY312" - "$CONFIG" "$1" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as handle:
    config = tomllib.load(handle)
print(config.get(sys.argv[2], {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", ""))
PY
}

cmd_deploy() {
    local env="default" dry_run=""
    local -a sam_args=() overrides=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --dry-run) dry_run=1; shift ;;
            --config-env) env="$2"; sam_args+=("$1" "$2"); shift 2 ;;
            --config-env=*) env="${1#*=}"; sam_args+=("$1"); shift ;;
            *=*) overrides+=("$1"); shift ;;
            *) sam_args+=("$1"); shift ;;
        esac
    done
    ensure_venv
    cd "$ROOT"
    [[ -f "$BUILD_ROOT/build/template.yaml" ]] || die "no build in $BUILD_ROOT/build: run 'make build' first"
    # A new DeploymentId on every deploy makes the DatabaseMigrations custom resource run again (it is a no-op
    # at head), so a deployment never serves code against a schema nobody checked. Later values win.
    local deployment_id
    deployment_id="$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD 2>/dev/null || echo nogit)"
    # shellcheck disable=SC2207 # samconfig's value is a space-separated list of Name=Value
    local -a configured=($(config_overrides "$env"))
    local -a command=(sam deploy --config-file "$CONFIG" --template-file "$BUILD_ROOT/build/template.yaml"
        "${sam_args[@]}" --parameter-overrides "${configured[@]}" "${overrides[@]}" "DeploymentId=$deployment_id")
    if [[ -n "$dry_run" ]]; then
        echo "${command[*]}"
        return 0
    fi
    PATH="$(sam_path)" "${command[@]}"
}

main() {
    local sub="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$sub" in
        venv) cmd_venv ;;
        validate) cmd_validate ;;
        build) cmd_build "$@" ;;
        deploy) cmd_deploy "$@" ;;
        "" | -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
        -*)
            # Global options (`--version`, `--info`): no command to hand the config file to.
            ensure_venv
            PATH="$(sam_path)" sam "$sub" "$@"
            ;;
        local | remote)
            # Command groups: the config file option belongs to the leaf command (`sam local invoke`).
            [[ $# -gt 0 ]] || die "usage: sam.sh $sub <command> [args]"
            local leaf="$1"
            shift
            ensure_venv
            cd "$ROOT"
            PATH="$(sam_path)" sam "$sub" "$leaf" --config-file "$CONFIG" "$@"
            ;;
        *)
            ensure_venv
            cd "$ROOT"
            PATH="$(sam_path)" sam "$sub" --config-file "$CONFIG" "$@"
            ;;
    esac
}

main "$@"
