"""Benchmark: protect a 3-dimensional frequency table of about 2,000 cells with margins.

20 x 10 x 8 categories -> 21 x 11 x 9 = 2,079 cells with all margins. Skewed category
probabilities give a realistic share of small cells. Threshold rule min_cell = 5, optimal
secondary suppression with HiGHS, then the full interval audit. Target: < 10 s.

Run: .venv/bin/python benchmarks/bench_tables.py [--rows N] [--seed S]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from sdc.tables import TableSpec, build_table


def make_data(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def column(prefix: str, k: int) -> np.ndarray:
        p = rng.dirichlet(np.full(k, 0.7))
        return np.array([f"{prefix}{i:02d}" for i in range(k)])[rng.choice(k, rows, p=p)]

    return pd.DataFrame(
        {"village": column("v", 20), "occupation": column("o", 10), "age": column("a", 8)}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
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
