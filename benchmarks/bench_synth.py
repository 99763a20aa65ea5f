"""Benchmark: MST and AIM synthetic data on adult (30,162 x 9) at epsilon 1, delta 1e-9.

For each method and run (each in a fresh process, so that its peak memory is its own):

* wall time (and CPU time of the process), peak RSS (``resource.getrusage``) and the mean
  2-way TVD over all 36 pairs of a synthesis from all records, age synthesised and scored
  on decades ([10, 20), ..., [90, 100): public bounds [10, 100], 9 bins);
* ML utility, train on synthetic, test on real: the real records are split 80/20 (fixed
  split), a synthesis is made from the 80%, and a logistic regression (one-hot features,
  L2 penalty, fitted with scipy's L-BFGS) predicting salary-class >50K is trained on the
  synthetic records and scored (accuracy, AUC) on the real 20%, next to the same model
  trained on the real 80%.

Non-private references on the same bins: independent columns and a bootstrap resample.

    python benchmarks/bench_synth.py [--data PATH] [--runs N] [--methods mst,aim]
        [--max-seconds S]

DP noise is not seeded, so the figures vary between runs; several runs give their spread.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from sdc.synth import evaluate, synthesize

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult"
BOUNDS = {"age": (10.0, 100.0)}
BINS = 9  # decades
TARGET, POSITIVE = "salary-class", ">50K"


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


def _features(df: pd.DataFrame, domains: dict[str, list[object]]) -> np.ndarray:
    """One-hot features of every column but the target, age on decades."""
    blocks = []
    for col in df.columns:
        if col == TARGET:
            continue
        if col in BOUNDS:
            codes = np.clip((df[col].to_numpy(float) - 10.0) // 10.0, 0, BINS - 1).astype(int)
            k = BINS
        else:
            codes = pd.Categorical(df[col], categories=domains[col]).codes
            k = len(domains[col])
        block = np.zeros((len(df), k))
        ok = codes >= 0
        block[np.flatnonzero(ok), codes[ok]] = 1.0
        blocks.append(block)
    return np.hstack([np.ones((len(df), 1)), *blocks])


def _logistic(x: np.ndarray, y: np.ndarray, penalty: float = 1.0) -> np.ndarray:
    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        value = np.logaddexp(0.0, z).sum() - y @ z + 0.5 * penalty * w[1:] @ w[1:]
        grad = x.T @ (1.0 / (1.0 + np.exp(-z)) - y)
        grad[1:] += penalty * w[1:]
        return float(value), grad

    return optimize.minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    ranks = pd.Series(score).rank().to_numpy()
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ml_utility(
    train: pd.DataFrame, test: pd.DataFrame, domains: dict[str, list[object]]
) -> tuple[float, float]:
    """(accuracy, AUC) on ``test`` of a logistic regression trained on ``train``."""
    w = _logistic(_features(train, domains), (train[TARGET] == POSITIVE).to_numpy(float))
    score = _features(test, domains) @ w
    y = (test[TARGET] == POSITIVE).to_numpy(int)
    return float(((score > 0) == (y == 1)).mean()), _auc(score, y)


def _split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    perm = np.random.default_rng(2024).permutation(len(df))
    cut = int(0.8 * len(df))
    return df.iloc[perm[:cut]], df.iloc[perm[cut:]]


def one_run(args: tuple[str, int, Path, float, float]) -> dict[str, Any]:
    """One synthesis from all records and one from the 80% split, in this process."""
    method, seed, folder, epsilon, max_seconds = args
    df, domains = load(folder)
    cols = list(df.columns)
    kw: dict[str, Any] = dict(
        columns=cols, domains=domains, bounds=BOUNDS, epsilon=epsilon, delta=1e-9,
        seed=seed, bins=BINS, method=method, max_seconds=max_seconds,
    )  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    result = synthesize(df, rows=len(df), **kw)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ev = evaluate(df, result.data, cols, bounds=BOUNDS, bins=BINS)
    train, test = _split(df)
    synthetic = synthesize(train, rows=len(train), **kw).data
    acc, auc = ml_utility(synthetic, test, domains)
    picked = result.tree if method == "mst" else result.selected
    return {
        "method": method, "seconds": elapsed, "cpu": cpu, "rss": rss, "tvd2": ev.tvd_2way_mean,
        "tvd1": ev.tvd_1way_mean, "acc": acc, "auc": auc, "rho_spent": result.rho_spent,
        "rho": result.rho, "rounds": len(picked), "ended": result.ended,
        "picked": ", ".join("-".join(c) for c in picked),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ADULT)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--methods", default="mst,aim")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    df, domains = load(args.data)
    cols = list(df.columns)
    print(
        f"adult: {len(df)} rows x {len(cols)} columns; epsilon {args.epsilon}, delta 1e-9; "
        f"age on decades; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    ctx = multiprocessing.get_context("spawn")
    results: dict[str, list[dict[str, Any]]] = {}
    for method in args.methods.split(","):
        for run in range(args.runs):
            with ctx.Pool(1) as pool:
                r = pool.map(one_run, [(method, run, args.data, args.epsilon, args.max_seconds)])[0]
            results.setdefault(method, []).append(r)
            print(
                f"{method} run {run}: {r['seconds']:.1f} s (CPU {r['cpu']:.1f} s), "
                f"peak RSS {r['rss']:.0f} MiB, "
                f"mean 2-way TVD {r['tvd2']:.4f}, 1-way {r['tvd1']:.4f}; ML acc {r['acc']:.3f} "
                f"AUC {r['auc']:.3f}; rho spent/budget {r['rho_spent'] / r['rho']:.12f}; "
                f"{r['rounds']} marginals selected (ended by {r['ended'] or 'plan'}); "
                f"load {os.getloadavg()[0]:.2f}"
            )
            if run == 0:
                print(f"  selected: {r['picked']}")

    train, test = _split(df)
    acc, auc = ml_utility(train, test, domains)
    rng = np.random.default_rng(12345)
    draw = rng.integers(0, len(df), (len(cols), len(df)))
    independent = pd.DataFrame({c: df[c].to_numpy()[draw[i]] for i, c in enumerate(cols)})
    boot = df.iloc[rng.integers(0, len(df), len(df))].reset_index(drop=True)
    ind = evaluate(df, independent, cols, bounds=BOUNDS, bins=BINS).tvd_2way_mean
    bst = evaluate(df, boot, cols, bounds=BOUNDS, bins=BINS).tvd_2way_mean
    print()
    print(
        "| method | mean 2-way TVD (min-max) | seconds (CPU) | peak RSS MiB | ML accuracy "
        "| ML AUC |"
    )
    print("|---|---|---|---|---|---|")
    for method, rs in results.items():
        t = [r["tvd2"] for r in rs]
        print(
            f"| {method} | {np.mean(t):.4f} ({min(t):.4f}-{max(t):.4f}) | "
            f"{np.mean([r['seconds'] for r in rs]):.1f} ({np.mean([r['cpu'] for r in rs]):.1f}) | "
            f"{max(r['rss'] for r in rs):.0f} | "
            f"{np.mean([r['acc'] for r in rs]):.3f} | {np.mean([r['auc'] for r in rs]):.3f} |"
        )
    print(f"| real 80% (train on real) | - | - | - | {acc:.3f} | {auc:.3f} |")
    print(f"| independent columns | {ind:.4f} | | | | |")
    print(f"| bootstrap of the real data | {bst:.4f} | | | | |")


if __name__ == "__main__":
    main()
