"""Speed of SUDA2 (sdc.risk.suda.suda2) on synthetic and real key sets.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_suda.py [--quick]

Prints the best wall-clock and CPU seconds of a few runs; on a shared machine the CPU time is
the steadier figure (the wall clock also counts the time other processes held the core).
sdcMicro's C++ ``suda2`` takes 0.061 s on 10,000 x 8 keys on the 2-core reference machine
(issue 14); the 10,000 x 8 and 100,000 x 8 lines are printed beside it.

Synthetic keys are drawn per column from a Zipf-like distribution over a fixed number of
categories, which gives the long tails (rare values, many MSUs) of real survey keys. The
real sets (sdcMicro's testdata, the adult census extract) are read from ../shared/data when
present and skipped otherwise.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.risk.frequencies import encode_keys
from sdc.risk.suda import suda2

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
#: sdcMicro's suda2 on 10,000 x 8 keys (issue 14, measured on the 2-core reference machine).
SDCMICRO_10K_8 = 0.061
CARDS = [2, 5, 9, 17, 4, 30, 7, 60, 3, 12, 25, 6]


def synthetic(n: int, m: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = []
    for j in range(m):
        card = CARDS[j % len(CARDS)]
        p = 1.0 / np.arange(1, card + 1) ** 1.1
        cols.append(rng.choice(card, size=n, p=p / p.sum()))
    return np.column_stack(cols).astype(np.int64)


def timed(label: str, fn: Callable[[], object], repeat: int = 3, beside: str = "") -> None:
    best = cpu = float("inf")
    out = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    res = out
    assert res is not None
    msu = int((res.score > 0).sum())  # type: ignore[attr-defined]
    print(f"{label:<52} {best:7.3f} s ({cpu:6.3f} s CPU)  records with an MSU: {msu}{beside}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 100,000-row runs")
    args = parser.parse_args()

    c10k5 = synthetic(10_000, 5)
    timed("synthetic 10,000 x 5 keys, all sizes (max_msu=5)", lambda: suda2(c10k5))
    timed("synthetic 10,000 x 5 keys, max_msu=4", lambda: suda2(c10k5, max_msu=4))
    c10k8 = synthetic(10_000, 8)
    sdcmicro = f"   sdcMicro suda2: {SDCMICRO_10K_8:.3f} s"
    timed("synthetic 10,000 x 8 keys, all sizes", lambda: suda2(c10k8), 7, sdcmicro)
    if not args.quick:
        c100k8 = synthetic(100_000, 8)
        timed("synthetic 100,000 x 8 keys, max_msu=4", lambda: suda2(c100k8, max_msu=4), 1)
        timed("synthetic 100,000 x 8 keys, all sizes (max_msu=8)", lambda: suda2(c100k8), 3)
        c100k12 = synthetic(100_000, 12)
        timed("synthetic 100,000 x 12 keys, max_msu=4", lambda: suda2(c100k12, max_msu=4), 1)
        timed("synthetic 100,000 x 12 keys, all sizes", lambda: suda2(c100k12), 1)

    testdata = SHARED / "sdcmicro" / "testdata.csv"
    if testdata.exists():
        df = pd.read_csv(testdata)
        keys = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
        codes = encode_keys(df, keys, "wildcard")
        timed("sdcMicro testdata 4,580 x 7 keys, all sizes", lambda: suda2(codes))
    adult = SHARED / "adult" / "adult.csv"
    if adult.exists():
        df = pd.read_csv(adult, sep=";")
        keys = ["sex", "age", "race", "marital-status", "education", "native-country"]
        codes = encode_keys(df, keys, "wildcard")
        timed("adult 30,162 x 6 keys, all sizes", lambda: suda2(codes))
        keys9 = list(df.columns)
        codes9 = encode_keys(df, keys9, "wildcard")
        timed("adult 30,162 x 9 columns, all sizes", lambda: suda2(codes9), 1)


if __name__ == "__main__":
    main()
