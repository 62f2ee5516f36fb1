"""The honest floors of the cold-start benchmark (bench_cold): what any function of the same kind must import."""
