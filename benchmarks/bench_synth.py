"""Benchmark: MST synthetic data on adult (30,162 x 9) at epsilon 1, delta 1e-9.

Reports wall time and peak memory of ``synthesize`` and the mean 2-way TVD over all 36
pairs (age on the 16 public bins of [17, 90]), next to two non-private references computed
here on the same bins: independent columns (each column drawn from its true marginal) and
a bootstrap resample of the real data.

    .venv/bin/python benchmarks/bench_synth.py [--data PATH] [--runs N] [--rows N]

DP noise is not seeded, so the TVD varies between runs; several runs give its spread.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.synth import evaluate, synthesize

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult"
BOUNDS = {"age": (17.0, 90.0)}


def load(folder: Path) -> tuple[pd.DataFrame, dict[str, list[object]]]:
    df = pd.read_csv(folder / "adult.csv", sep=";")
    domains: dict[str, list[object]] = {}
    for col in df.columns:
        if col in BOUNDS:
            continue
        hierarchy = pd.read_csv(
            folder / f"adult_hierarchy_{col}.csv", sep=";", header=None, dtype=str
        )
        domains[col] = list(hierarchy[0])
    return df, domains


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ADULT)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=0, help="synthetic rows (0: as many as real)")
    parser.add_argument("--epsilon", type=float, default=1.0)
    args = parser.parse_args()

    df, domains = load(args.data)
    cols = list(df.columns)
    rows = args.rows or len(df)
    print(
        f"adult: {len(df)} rows x {len(cols)} columns; epsilon {args.epsilon}, delta 1e-9, "
        f"{rows} synthetic rows"
    )

    tvds, times = [], []
    for run in range(args.runs):
        tracemalloc.start()
        t0 = time.perf_counter()
        result = synthesize(
            df,
            columns=cols,
            domains=domains,
            bounds=BOUNDS,
            epsilon=args.epsilon,
            delta=1e-9,
            rows=rows,
            seed=run,
        )
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        t1 = time.perf_counter()
        ev = evaluate(df, result.data, cols, bounds=BOUNDS)
        t_eval = time.perf_counter() - t1
        assert ev.tvd_2way_mean is not None
        tvds.append(ev.tvd_2way_mean)
        times.append(elapsed)
        print(
            f"run {run}: synthesize {elapsed:.2f} s, peak traced memory {peak / 2**20:.1f} MiB, "
            f"mean 2-way TVD {ev.tvd_2way_mean:.4f}, mean 1-way TVD {ev.tvd_1way_mean:.4f}, "
            f"pMSE ratio {ev.pmse_ratio:.1f}, exact matches "
            f"{ev.synthetic_to_real.exact_match_share:.3f} (evaluate {t_eval:.2f} s); "
            f"rho {result.rho:.6f} spent {result.rho_spent:.6f}, "
            f"epsilon spent {result.epsilon_spent:.9f}"
        )
        if run == 0:
            print("  tree:", ", ".join(f"{a}-{b}" for a, b in result.tree))

    rng = np.random.default_rng(12345)
    independent = pd.DataFrame({c: df[c].to_numpy()[rng.integers(0, len(df), rows)] for c in cols})
    boot = df.iloc[rng.integers(0, len(df), rows)].reset_index(drop=True)
    ind = evaluate(df, independent, cols, bounds=BOUNDS).tvd_2way_mean
    bst = evaluate(df, boot, cols, bounds=BOUNDS).tvd_2way_mean
    # Privacy check against a hold-out: synthesise from 80% of the records, then compare
    # distances synthetic -> training with hold-out -> training.
    perm = rng.permutation(len(df))
    cut = int(0.8 * len(df))
    train, holdout = df.iloc[perm[:cut]], df.iloc[perm[cut:]]
    result = synthesize(
        train,
        columns=cols,
        domains=domains,
        bounds=BOUNDS,
        epsilon=args.epsilon,
        delta=1e-9,
        rows=len(holdout),
        seed=0,
    )
    ev = evaluate(train, result.data, cols, holdout, bounds=BOUNDS)
    assert ev.holdout_to_real is not None
    for name, dist in (("synthetic", ev.synthetic_to_real), ("hold-out", ev.holdout_to_real)):
        print(
            f"{name} -> training (80/20 split, {len(holdout)} records): exact matches "
            f"{dist.exact_match_share:.3f}, mean normalised DCR {dist.mean:.4f}, "
            f"shares by distance { ({k: round(v, 3) for k, v in dist.shares.items() if v}) }"
        )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"MST mean 2-way TVD over {args.runs} runs: {np.mean(tvds):.4f} "
        f"(min {min(tvds):.4f}, max {max(tvds):.4f}); synthesize time mean {np.mean(times):.2f} s"
    )
    print(f"references: independent columns {ind:.4f}, bootstrap {bst:.4f}")
    print(f"process max RSS {maxrss:.0f} MiB")


if __name__ == "__main__":
    main()
