"""Mutation testing with mutmut, one module group at a time (`make mutate`, `make mutate-quick`).

mutmut names a mutant after the file's path (`src/` stripped) and matches it with the module name the tests
import; our code lives under several import roots (layers/shared, functions/<name>, local), so each group runs
in a workspace, `.mutate/<group>/`, whose `src/` holds one symlink per importable package. mutmut copies those
packages into `.mutate/<group>/mutants/src/`, mutates only the group's modules (`only_mutate`) and runs, for
each mutant, the group's tests that executed the mutated function (its stats run), in a forked pytest.

Groups, their modules and their tests: mutation.toml. Documented equivalent mutants: docs/testing.md.

    python scripts/mutate.py                 # every group, fresh
    python scripts/mutate.py domain auth     # some groups
    python scripts/mutate.py --quick         # the quick sample (mutation.toml), time-boxed, failing below threshold
    python scripts/mutate.py --report        # print the scores of the last run again (no new run)

Scores go to stdout and to mutation-results.json (one entry per group; a run of some groups keeps the others).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "mutation.toml"
WORK = REPO / ".mutate"
RESULTS = REPO / "mutation-results.json"

# Every importable package of the repository and where it lives: the workspace links them all so the tests
# import the (partly mutated) copies and nothing from the original tree.
PACKAGES = {
    "sentrix": "layers/shared/sentrix",
    "sentrix_auth": "functions/auth/sentrix_auth",
    "sentrix_upload": "functions/upload/sentrix_upload",
    "sentrix_detect": "functions/detect/sentrix_detect",
    "sentrix_report": "functions/report/sentrix_report",
    "sentrix_migrate": "functions/migrate/sentrix_migrate",
    "sentrix_local": "local/sentrix_local",
    "yolo_standin": "local/yolo_standin",
}
# Read by tests or by the local stack relative to the repository root (mutants/ stands in for it; the DLQ
# test imports scripts/redrive.py).
ALSO_COPY = ["tests", "infra", "events", "docs", "scripts", "README.md", "env.json"]

KILLED = {"killed", "timeout", "caught by type check"}
TEMPLATE_DATABASE = "sentrix_mutate_template"


class Services:
    """PostGIS and moto's server, started once for a group whose tests need them (`services = true`).

    mutmut runs one pytest session per mutant; tests/conftest.py attaches each session to these (a copy of a
    migrated template database per session, its own bucket and queues) instead of starting its own.
    """

    def __init__(self, state: Path) -> None:
        for root in ("layers/shared", "local"):
            if str(REPO / root) not in sys.path:
                sys.path.insert(0, str(REPO / root))
        from sentrix_local.postgres import LocalPostgres
        from sentrix_local.processes import ManagedProcess, free_port, python_module

        self.state = state
        self.postgres = LocalPostgres(state / "pgdata", free_port())
        self.moto_port = free_port()
        self.moto = ManagedProcess(
            "moto-mutate",
            python_module("moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)),
            run_dir=state / "run",
            log_file=state / "logs" / "moto.log",
        )

    def start(self) -> dict[str, str]:
        from sentrix_local.processes import wait_http

        self.postgres.start(fast=True)
        self.postgres.recreate_database(TEMPLATE_DATABASE)
        # In a process of its own, so no connection to the template outlives the migration.
        migrate = "import sys; from sentrix.db import migrate; migrate.upgrade(sys.argv[1])"
        env = {**os.environ, "PYTHONPATH": f"{REPO / 'layers/shared'}"}
        subprocess.run([sys.executable, "-c", migrate, self.postgres.url(TEMPLATE_DATABASE)], check=True, env=env)
        self.moto.start()
        moto_url = f"http://127.0.0.1:{self.moto_port}"
        wait_http(f"{moto_url}/moto-api/", process=self.moto.process)
        return {
            "SENTRIX_TEST_STATE_DIR": str(self.state),
            "SENTRIX_TEST_POSTGIS_PORT": str(self.postgres.port),
            "SENTRIX_TEST_TEMPLATE_DATABASE": TEMPLATE_DATABASE,
            "SENTRIX_TEST_MOTO_URL": moto_url,
        }

    def stop(self) -> None:
        self.moto.stop()
        self.postgres.stop()


def load_config() -> dict:
    return tomllib.loads(CONFIG.read_text())


def to_workspace(repo_path: str) -> str:
    """layers/shared/sentrix/domain/*.py -> src/sentrix/domain/*.py"""
    for package, directory in PACKAGES.items():
        if repo_path.startswith(directory + "/"):
            return f"src/{package}/" + repo_path[len(directory) + 1 :]
    raise SystemExit(f"mutation.toml: {repo_path} is not inside a known package ({', '.join(PACKAGES.values())})")


def to_repo(workspace_path: str) -> str:
    _, package, rest = workspace_path.split("/", 2)
    return f"{PACKAGES[package]}/{rest}"


def pytest_options() -> dict:
    """The repository's pytest options without `pythonpath` (it would put the original sources first)."""
    options = dict(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"])
    options.pop("pythonpath", None)
    return options


def toml_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def prepare(group: str, spec: dict, settings: dict, *, fresh: bool) -> Path:
    workspace = WORK / group
    if fresh and workspace.exists():
        shutil.rmtree(workspace)
    (workspace / "src").mkdir(parents=True, exist_ok=True)
    for package, directory in PACKAGES.items():
        link = workspace / "src" / package
        if not link.is_symlink():
            link.symlink_to(REPO / directory)
    for name in ALSO_COPY:
        link = workspace / name
        if not link.is_symlink():
            link.symlink_to(REPO / name)
    # Exists before mutmut starts: a path on PYTHONPATH that is missing at start-up is cached as "no finder".
    (workspace / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    # The repository's layout inside mutants/ too (layers/shared/sentrix → src/sentrix, …), for tests that
    # find code from the repository root (an import probe's PYTHONPATH, the template's CodeUri).
    for package, directory in PACKAGES.items():
        link = workspace / "mutants" / directory
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(workspace / "mutants" / "src" / package, link.parent))
    mutmut = {
        "source_paths": [f"src/{package}" for package in PACKAGES],
        "only_mutate": [to_workspace(path) for path in spec["modules"]],
        "also_copy": [name for name in ALSO_COPY if name != "tests"],
        "pytest_add_cli_args": ["-p", "no:randomly", "-p", "no:cacheprovider", "-q"],
        "pytest_add_cli_args_test_selection": spec["tests"],
        # mutation.toml's rules for every group, then the group's own (each explained where it is written).
        "do_not_mutate_patterns": settings.get("do_not_mutate_patterns", []) + spec.get("do_not_mutate_patterns", []),
        "debug": os.environ.get("MUTATE_DEBUG") == "1",  # prints every pytest command line and exit code
    }
    lines = ["# Generated by scripts/mutate.py from mutation.toml; edit that instead.", "[tool.mutmut]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in mutmut.items()]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in pytest_options().items()]
    (workspace / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return workspace


def run_mutmut(
    workspace: Path, *, jobs: int, time_box: float | None, extra_env: dict[str, str], names: list[str]
) -> tuple[int, float]:
    # Subprocesses the tests start (an import probe, the local stack) import the mutated copies too.
    mutants = workspace / "mutants"
    env = os.environ | {"PYTHONPATH": f"{mutants / 'src'}{os.pathsep}{mutants}"} | extra_env
    # tests/conftest.py runs a mutant's tests quickest first from the stats run's durations (same tests, `-x`).
    env["SENTRIX_MUTATE_DURATIONS"] = str(mutants / "mutmut-stats.json")
    command = [str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", str(jobs), *names]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=workspace, env=env, start_new_session=True)
    try:
        returncode = process.wait(timeout=time_box)
    except subprocess.TimeoutExpired:
        print(f"mutate: time box of {time_box:.0f} s reached; scoring the mutants checked so far", flush=True)
        os.killpg(process.pid, 15)
        returncode = process.wait()
    return returncode, time.monotonic() - started


def statuses(workspace: Path, spec: dict) -> dict[str, dict[str, str]]:
    """{repo module path: {mutant name: status}} from mutmut's .meta files."""
    from mutmut.stats import status_by_exit_code

    patterns = [to_workspace(path) for path in spec["modules"]]
    found: dict[str, dict[str, str]] = {}
    for meta in sorted((workspace / "mutants" / "src").rglob("*.py.meta")):
        relative = meta.relative_to(workspace / "mutants").as_posix()[: -len(".meta")]
        if not any(fnmatch(relative, pattern) for pattern in patterns):
            continue
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        if codes:
            found[to_repo(relative)] = {name: status_by_exit_code[code] for name, code in sorted(codes.items())}
    return found


# SQL's keywords and unquoted identifiers are case-insensitive (PostgreSQL folds unquoted names to lower case); what
# is not: string literals, quoted identifiers, SQLAlchemy bind names (`:name`), Python placeholders (`{name}`,
# `%(name)s`) and dollar-quoted bodies.
_SQL_KEPT = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?<![:\w]):\w+|\{[^{}]*\}|%\(\w+\)s|\$(\w*)\$.*?\$\1\$", re.DOTALL
)
_SQL_WORD = re.compile(
    r"\b(select|insert|update|delete|with|from|where|join|order by|group by|and|or|cast|limit|offset|set|values|"
    r"returning|case|when|then|else|end|as|on|in|is|null|not|any|coalesce|count|sum|exists|distinct|union|"
    r"cross|left|lateral|true|false|desc|asc|nulls|filter|over|having|between|like|ilike)\b",
    re.IGNORECASE,
)


def sql_fold(text: str) -> str:
    """`text` as PostgreSQL reads it: everything but literals, quoted names, binds and placeholders lower-cased."""
    parts, last = [], 0
    for match in _SQL_KEPT.finditer(text):
        parts += [text[last : match.start()].lower(), match.group(0)]
        last = match.end()
    return "".join(parts) + text[last:].lower()


def looks_like_sql(text: str) -> bool:
    """Two SQL keywords, or one with SQL punctuation (`=`, `<`, `>`, `(`, `.`, `*`, `:`), or nothing but SQL
    keywords (`FALSE`, `ORDER BY`): not a message or a label ("Location is missing" has one keyword and no
    punctuation, "open" none)."""
    words = {match.group(0).lower() for match in _SQL_WORD.finditer(text)}
    only_keywords = bool(words) and not _SQL_WORD.sub("", text).strip()
    return len(words) >= 2 or only_keywords or (len(words) == 1 and any(mark in text for mark in "=<>(.*:"))


def sql_case_only(original: str, mutated: str) -> bool:
    """True when `mutated` is `original` in another case and both read as the same SQL."""
    return (
        original != mutated
        and original.lower() == mutated.lower()
        and looks_like_sql(original)
        and sql_fold(original) == sql_fold(mutated)
    )


def _strings_apart(original: ast.AST, mutated: ast.AST) -> list[tuple[str, str]] | None:
    """The (original, mutated) pairs of string constants where the two trees differ, or None if anything else
    differs (another node, name, number or operator)."""
    if type(original) is not type(mutated):
        return None
    if isinstance(original, ast.Constant):
        if original.value == mutated.value and type(original.value) is type(mutated.value):
            return []
        if isinstance(original.value, str) and isinstance(mutated.value, str):
            return [(original.value, mutated.value)]
        return None
    pairs: list[tuple[str, str]] = []
    for field in original._fields:
        a, b = getattr(original, field, None), getattr(mutated, field, None)
        if field == "name" and isinstance(original, ast.FunctionDef):
            continue  # x_f__mutmut_orig / x_f__mutmut_3
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return None
            for x, y in zip(a, b, strict=True):
                found = _strings_apart(x, y) if isinstance(x, ast.AST) else ([] if x == y else None)
                if found is None:
                    return None
                pairs += found
        elif isinstance(a, ast.AST) and isinstance(b, ast.AST):
            found = _strings_apart(a, b)
            if found is None:
                return None
            pairs += found
        elif a != b:
            return None
    return pairs


def sql_case_mutant(source: str, mutant: str) -> bool:
    """True for a mutant (mutmut's name) of the mutated module `source` that only changes the case of SQL text:
    an equivalent mutant by rule (docs/testing.md, Equivalent mutants)."""
    function = mutant.rsplit(".", 1)[1]
    original = function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
    found = {node.name: node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
    if function not in found or original not in found:
        return False
    pairs = _strings_apart(found[original], found[function])
    return bool(pairs) and all(sql_case_only(a, b) for a, b in pairs)


def sql_case_equivalents(workspace: Path, names: list[str]) -> set[str]:
    """The mutants among `names` that only change the case of SQL text (read from the mutated copies)."""
    sources: dict[str, str] = {}
    equivalent = set()
    for name in names:
        module = name.rsplit(".", 1)[0]
        path = workspace / "mutants" / "src" / (module.replace(".", "/") + ".py")
        if module not in sources:
            sources[module] = path.read_text() if path.exists() else ""
        if sources[module] and sql_case_mutant(sources[module], name):
            equivalent.add(name)
    return equivalent


def score(killed: int, total: int) -> float:
    return round(100.0 * killed / total, 1) if total else 0.0


def summarise(
    group: str, spec: dict, found: dict[str, dict[str, str]], duration: float | None, workspace: Path | None = None
) -> dict:
    listed = set(spec.get("equivalent", {}))
    # Survivors that only change the case of SQL text: equivalent by rule, no entry needed.
    by_rule: set[str] = set()
    if workspace is not None and spec.get("sql_case_equivalents", False):
        # Only mutants that ran and survived: one not checked yet may still be killed by some other change.
        alive = [name for by_name in found.values() for name, status in by_name.items() if status == "survived"]
        by_rule = sql_case_equivalents(workspace, [name for name in alive if name not in listed])
    equivalent = listed | by_rule
    modules = {}
    overall = Counter()
    for module, by_name in found.items():
        counts = Counter(by_name.values())
        killed = sum(counts[status] for status in KILLED)
        survivors = [name for name, status in by_name.items() if status not in KILLED]
        modules[module] = {
            "total": len(by_name),
            "killed": killed,
            "score": score(killed, len(by_name)),
            "statuses": dict(sorted(counts.items())),
            "survivors": [{"mutant": name, "status": by_name[name]} for name in survivors],
            "equivalent": sorted(name for name in survivors if name in equivalent),
            "equivalent_sql_case": sorted(name for name in survivors if name in by_rule),
        }
        overall.update(total=len(by_name), killed=killed, equivalent=len(modules[module]["equivalent"]))
        overall.update({f"status:{status}": n for status, n in counts.items()})
    # Entries of this run's modules that no longer name a survivor (an edit renumbers a function's mutants).
    alive = {m for module in modules.values() for m in (s["mutant"] for s in module["survivors"])}
    scored_modules = {m.rsplit(".", 1)[0] for by_name in found.values() for m in by_name}
    stale = sorted(n for n in listed if n.rsplit(".", 1)[0] in scored_modules and n not in alive)
    return {
        "group": group,
        "tests": spec["tests"],
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": None if duration is None else round(duration, 1),
        "total": overall["total"],
        "killed": overall["killed"],
        "score": score(overall["killed"], overall["total"]),
        "documented_equivalent": overall["equivalent"],
        "score_without_equivalent": score(overall["killed"], overall["total"] - overall["equivalent"]),
        "unchecked": sum(n for key, n in overall.items() if key in ("status:not checked", "status:no tests")),
        "stale_equivalent_entries": stale,
        "modules": modules,
    }


def print_summary(summary: dict) -> None:
    print(f"\n== mutation score, group {summary['group']} ==")
    width = max((len(module) for module in summary["modules"]), default=10)
    for module, numbers in summary["modules"].items():
        print(f"  {module:<{width}}  {numbers['killed']:>4} / {numbers['total']:<4} {numbers['score']:5.1f} %")
        for survivor in numbers["survivors"]:
            mark = " (equivalent, docs/testing.md)" if survivor["mutant"] in numbers["equivalent"] else ""
            if survivor["mutant"] in numbers.get("equivalent_sql_case", ()):
                mark = " (equivalent: only the case of SQL text, docs/testing.md)"
            print(f"      {survivor['status']:<10} {survivor['mutant']}{mark}")
    print(
        f"  {'overall':<{width}}  {summary['killed']:>4} / {summary['total']:<4} {summary['score']:5.1f} %"
        f"   ({summary['documented_equivalent']} documented equivalent: "
        f"{summary['score_without_equivalent']:.1f} % of the rest)"
    )
    if summary["unchecked"]:
        print(f"  {summary['unchecked']} mutants not checked or without tests (counted as not killed)")
    if summary["stale_equivalent_entries"]:
        print(f"  mutation.toml lists equivalent mutants that no longer exist: {summary['stale_equivalent_entries']}")
    if summary["duration_s"] is not None:
        print(f"  run took {summary['duration_s']:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help="groups of mutation.toml (default: all)")
    parser.add_argument("--quick", action="store_true", help="the quick group, time-boxed, threshold enforced")
    parser.add_argument("--time-box", type=float, default=None, help="stop mutmut after this many seconds")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", os.cpu_count() or 2)))
    parser.add_argument("--keep", action="store_true", help="reuse .mutate/<group>/mutants (mutmut's cache)")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the mutants the last run left alive (after adding tests; implies --keep)",
    )
    parser.add_argument("--mutants", nargs="+", default=[], help="only these mutants (mutmut names, * allowed)")
    parser.add_argument("--report", action="store_true", help="score the last run of the groups again")
    args = parser.parse_args()

    config = load_config()
    groups = config["groups"]
    settings = config.get("settings", {})
    if args.quick:  # the sample runs as a group of its own, in its own workspace
        quick = settings["quick"]
        groups = groups | {"quick": {**groups[quick["group"]], "modules": quick["modules"]}}
    names = ["quick"] if args.quick else (args.groups or [name for name in groups])
    unknown = [name for name in names if name not in groups]
    if unknown:
        parser.error(f"unknown groups {unknown}; mutation.toml has {list(groups)}")
    time_box = args.time_box
    if time_box is None and args.quick:
        time_box = float(settings["quick"]["time_box_s"])

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"groups": {}}
    failed = False
    for name in names:
        spec = groups[name]
        workspace = WORK / name
        duration = None
        if not args.report:
            selected = list(args.mutants)
            if args.survivors:
                previous = statuses(workspace, spec)
                selected += [m for found in previous.values() for m, status in found.items() if status not in KILLED]
                if not selected:
                    print(f"mutate: group {name} has no survivors to run again")
                    continue
            workspace = prepare(name, spec, settings, fresh=not (args.keep or args.survivors or args.mutants))
            services = Services(workspace / "state") if spec.get("services") else None
            try:
                extra_env = services.start() if services else {}
                returncode, duration = run_mutmut(
                    workspace, jobs=args.jobs, time_box=time_box, extra_env=extra_env, names=selected
                )
            finally:
                if services:
                    services.stop()
            if returncode not in (0, -15):
                print(f"mutate: mutmut exited {returncode} on group {name}; its results are not kept", file=sys.stderr)
                failed = True
                continue
        summary = summarise(name, spec, statuses(workspace, spec), duration, workspace)
        # A run of some mutants only (--survivors, --mutants) keeps the other verdicts of the last full run.
        if args.report:  # the verdicts mutmut has saved so far (also while a run is going on)
            summary["run"] = "report"
            summary["duration_s"] = results["groups"].get(name, {}).get("duration_s")
        else:
            summary["run"] = "partial" if (args.survivors or args.mutants) else ("kept" if args.keep else "fresh")
        # How long the whole group takes from scratch: from the last fresh run.
        previous = results["groups"].get(name, {})
        fresh = summary["run"] == "fresh"
        summary["full_run_duration_s"] = summary["duration_s"] if fresh else previous.get("full_run_duration_s")
        print_summary(summary)
        if not summary["total"]:
            print(f"mutate: no mutants scored for group {name}", file=sys.stderr)
            failed = True
        if args.quick and summary["score"] < settings["threshold"]:
            print(f"mutate: score {summary['score']} % is below the threshold {settings['threshold']} %")
            failed = True
        if not args.quick:
            results["groups"][name] = summary
    if not args.quick:
        totals = Counter()
        for summary in results["groups"].values():
            totals.update(total=summary["total"], killed=summary["killed"])
        results["overall"] = {**totals, "score": score(totals["killed"], totals["total"])}
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(
            f"\n== overall (every group in {RESULTS.name}): {totals['killed']} / {totals['total']} "
            f"{results['overall']['score']:.1f} % =="
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
