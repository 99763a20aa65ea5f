"""Benchmark: the tables statistical offices compare tools on (issue 19).

1. district × sex × age: the demo survey (20,000 records), 4 districts, 2 sexes and 29
   five-year age bands: 5 × 3 × 30 = 450 cells with the margins; threshold rule min_cell 5.
2. region × sector turnover: 50,000 enterprises (log-normal turnover in currency units, with
   cents), 12 regions × 30 sectors = 13 × 31 = 403 cells; (1, 80%) dominance.
3. the same turnover table with a primary of 0.05 beside cells of 1e12.

For each: cells, primary and secondary suppressions, whether every primary passed the
interval audit, and the time (median of --repeat runs). sdcTable 0.34.0's figures on the
first two tables (from the comparison in issue 19, run once on a 2-core machine, R 4.4):
district × sex × age: 43 suppressions with its OPT method, 69 with SIMPLEHEURISTIC, which
ran 1.7-2.6× faster than our optimal method on the two larger tables; sdcTable's heuristics
left 16 of 59 dominated turnover cells narrowable inside their required interval.

Run: python benchmarks/bench_tables_offices.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from sdc.demo import make_survey
from sdc.tables import TableSpec, build_table


def demo_people() -> pd.DataFrame:
    df = make_survey(rows=20_000, seed=1)
    df["age5"] = (df["age"].clip(0, 140) // 5 * 5).astype(int).astype(str)
    return df


def enterprises(n: int = 50_000, seed: int = 7, tiny: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice([f"R{i:02d}" for i in range(12)], n, p=np.r_[np.full(11, 0.07), 0.23])
    sector = rng.choice([f"S{i:02d}" for i in range(30)], n, p=rng.dirichlet(np.full(30, 0.6)))
    turnover = np.round(np.exp(rng.normal(14, 2.2, n)), 2)
    df = pd.DataFrame({"region": region, "sector": sector, "turnover": turnover})
    if tiny:
        extra = pd.DataFrame(
            {"region": ["R00", "R01", "R02"], "sector": ["S99"] * 3, "turnover": [0.05, 1e12, 1e12]}
        )
        df = pd.concat([df, extra], ignore_index=True)
    return df


def run(name: str, df: pd.DataFrame, spec: TableSpec, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        table = build_table(df, spec)
        times.append(time.perf_counter() - start)
    f = table.flag_counts
    print(
        f"{name}: cells={len(table.table)} primary={f['primary']} secondary={f['secondary']} "
        f"suppressed={f['primary'] + f['secondary']} "
        f"audit={'passed' if table.passed else 'FAILED'} "
        f"time={statistics.median(times):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    people = demo_people()
    print(f"age bands: {people['age5'].nunique()}, districts: {people['district'].nunique()}")
    run(
        "district × sex × age",
        people,
        TableSpec(by=("district", "sex", "age5"), count=True, min_cell=5),
        args.repeat,
    )
    turnover = TableSpec(by=("region", "sector"), sum="turnover", dominance=(1, 0.8))
    run("region × sector turnover", enterprises(), turnover, args.repeat)
    run("turnover, 0.05 beside 1e12", enterprises(tiny=True), turnover, args.repeat)


if __name__ == "__main__":
    main()
