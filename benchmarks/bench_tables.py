"""Benchmark: protect a 3-dimensional frequency table of about 2,000 cells with margins.

20 x 10 x 8 categories -> 21 x 11 x 9 = 2,079 cells with all margins. Skewed category
probabilities give a realistic share of small cells. Threshold rule min_cell = 5, optimal
secondary suppression with HiGHS, then the full interval audit. Target: < 10 s.

Run: .venv/bin/python benchmarks/bench_tables.py [--rows N] [--seed S]

With ``--engine duckdb`` (issue 14, target: under 30 s for 10,000,000 rows on 2 cores) the
microdata are written once to a Parquet file (village, occupation, age, a weight and a
turnover) and five tables are built from the file through the engine: the count above (no
rule), a weighted count (min_cell 5), a turnover sum with the dominance and p% rules, and a DP count
and sum (OpenDP, epsilon 1). ``--baseline`` runs the same tables with the pandas engine in
the same go (it reads the whole file into memory) and prints the ratio:

    python benchmarks/bench_tables.py --engine duckdb --rows 10000000 --baseline
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from sdc.tables import DpSpec, TableSpec, build_table


def make_data(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def column(prefix: str, k: int) -> np.ndarray:
        p = rng.dirichlet(np.full(k, 0.7))
        return np.array([f"{prefix}{i:02d}" for i in range(k)])[rng.choice(k, rows, p=p)]

    return pd.DataFrame(
        {"village": column("v", 20), "occupation": column("o", 10), "age": column("a", 8)}
    )


#: The public categories (DP tables never take them from the data).
CODEBOOK = {
    name: [f"{prefix}{i:02d}" for i in range(k)]
    for name, prefix, k in (("village", "v", 20), ("occupation", "o", 10), ("age", "a", 8))
}

ENGINE_SPECS = (
    TableSpec(by=("village", "occupation", "age"), count=True),
    TableSpec(by=("village", "occupation"), count=True, weight="wgt", min_cell=5),
    TableSpec(by=("occupation", "age"), sum="turnover", dominance=(2, 0.85), p_percent=0.1),
    TableSpec(by=("occupation", "age"), count=True, dp=DpSpec(epsilon=1.0)),
    TableSpec(by=("occupation",), sum="turnover", dp=DpSpec(epsilon=1.0, bounds=(0.0, 5000.0))),
)


def write_parquet(rows: int, seed: int) -> str:
    """The benchmark's microdata as a Parquet file (made once per size and seed)."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(tempfile.gettempdir()) / f"sdc-bench-tables-{rows}-{seed}.parquet"
    if path.exists():
        return str(path)
    rng = np.random.default_rng(seed)
    columns = {}
    for name, prefix, k in (("village", "v", 20), ("occupation", "o", 10), ("age", "a", 8)):
        p = rng.dirichlet(np.full(k, 0.7))
        labels = pa.array([f"{prefix}{i:02d}" for i in range(k)])
        codes = pa.array(rng.choice(k, rows, p=p).astype(np.int32))
        columns[name] = pa.DictionaryArray.from_arrays(codes, labels)
    columns["wgt"] = pa.array(rng.integers(4, 400, rows) / 4.0)
    columns["turnover"] = pa.array(np.floor(rng.pareto(1.2, rows) * 100))
    partial = path.with_suffix(".partial")
    pq.write_table(pa.table(columns), str(partial), compression="zstd")
    partial.replace(path)
    return str(path)


def bench_engine(args: argparse.Namespace) -> None:
    """Tables from a Parquet file through a counting engine (and the pandas baseline)."""
    from sdc.risk.engines import get_engine

    path = write_parquet(args.rows, args.seed)
    names = [args.engine, "pandas"] if args.baseline else [args.engine]
    total: dict[str, float] = {}
    for name in names:
        engine = get_engine(name)
        total[name] = 0.0
        for spec in ENGINE_SPECS:
            start = time.perf_counter()
            table = build_table(path, spec, engine=engine, seed=args.seed, codebook=CODEBOOK)
            took = time.perf_counter() - start
            total[name] += took
            print(
                f"{name:>7} {spec.table_name:<40} cells={len(table.table):>4} "
                f"flags={dict(table.flag_counts)} {took:6.2f} s"
            )
        print(
            f"{name:>7} all {len(ENGINE_SPECS)} tables on {args.rows:,} rows: {total[name]:.1f} s"
        )
    if args.baseline:
        print(f"ratio pandas / {args.engine}: {total['pandas'] / total[args.engine]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=["duckdb", "spark"], help="build from Parquet")
    parser.add_argument("--baseline", action="store_true", help="also the pandas engine")
    args = parser.parse_args()
    if args.engine:
        bench_engine(args)
        return
    df = make_data(args.rows, args.seed)
    spec = TableSpec(by=("village", "occupation", "age"), count=True, min_cell=5)
    start = time.perf_counter()
    table = build_table(df, spec)
    elapsed = time.perf_counter() - start
    print(f"rows={args.rows} cells={len(table.table)} flags={dict(table.flag_counts)}")
    print(f"audit passed={table.passed} intervals={len(table.audit)}")
    print(f"protected in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
