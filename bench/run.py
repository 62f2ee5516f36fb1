"""`make bench`: run every `bench/bench_*.py` module's `run()` and write results.json + results.md."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from bench.harness import RESULTS_MD, Result, write_report


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the Sentrix benchmarks.")
    parser.add_argument("only", nargs="*", help="module names (e.g. bench_authorizer); default: all")
    parser.add_argument("--quick", action="store_true", help="smaller data sets (CI-sized)")
    args = parser.parse_args()
    modules = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if args.only:
        modules = [m for m in modules if m in args.only]
    results: list[Result] = []
    for name in modules:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        for result in module.run(quick=args.quick):
            print(
                f"   {result.name}: {result.value:.3f} {result.unit} vs {result.baseline_name} "
                f"{result.baseline_value:.3f} → {result.ratio:.2f}×",
                flush=True,
            )
            results.append(result)
    write_report(results, partial=bool(args.only))
    print(RESULTS_MD.read_text())
    return 0 if all(r.meets_target is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
