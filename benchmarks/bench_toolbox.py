"""sdcMicro's toolbox in sdc: record swapping, shuffling, multivariate top coding; times.

Run: PYTHONPATH=. python benchmarks/bench_toolbox.py [--testdata PATH] [--rows N]

1. sdcMicro's testdata (4,580 records in 1,000 households; default
   /work/shared/data/sdcmicro/testdata.csv): record swapping of ``urbrur`` (the only
   geography it has, 2 areas) with similar = household size, rate 0.05, key = roof walls
   water electcon relat sex; shuffling of expend income savings on the keys; multivariate
   top coding of expend income savings; microaggregation by PCA and MDAV within strata
   (the geography); beside the methods of the previous set (MDAV k = 3,
   noise sd 0.2, rank swapping p = 5) on the same columns.
2. A generated census-like file of ``--rows`` records (default 100,000) in households of 1
   to 6 members over 400 villages in 40 districts, with age band, sex and three log-normal
   numbers: the same methods.

For each: seconds, and the figures that say the method did what it should (swap share,
joint distribution kept, values kept as multisets, outliers moved, IL1s / IL_correl,
the share of records re-linked by distance-based record linkage).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.anonymize.microaggregation import microaggregate
from sdc.anonymize.mv_top_code import mv_top_code
from sdc.anonymize.noise import add_noise
from sdc.anonymize.record_swap import record_swap
from sdc.anonymize.shuffle import shuffle
from sdc.anonymize.swap import rank_swap
from sdc.anonymize.utility import il1s, il_correl
from sdc.risk.numeric import relinked_share

TESTDATA = Path("/work/shared/data/sdcmicro/testdata.csv")
NUMBERS = ["expend", "income", "savings"]


def _timed(label: str, run: Callable[[], tuple[pd.DataFrame, Any]], before: pd.DataFrame) -> None:
    start = time.perf_counter()
    after, record = run()
    seconds = time.perf_counter() - start
    numbers = [c for c in NUMBERS if c in record.columns]
    figures = ""
    if numbers:
        loss, corr = il1s(before, after, numbers), il_correl(before, after, numbers)
        figures = f"IL1s {loss:.3f}" + (f", IL_correl {corr:.3f}" if corr is not None else "")
        linked = relinked_share(before, after, numbers)
        figures += f", re-linked {linked:.1%}" if linked is not None else ""
    print(f"  {label:<28} {seconds:7.3f} s  changed {record.total_changed:>7}  {figures}")


def _census(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, rows // 3)
    hh = np.repeat(np.arange(len(sizes)), sizes)[:rows]
    village = rng.integers(0, 400, len(sizes))[hh]
    income = rng.lognormal(10, 1, len(hh))
    return pd.DataFrame(
        {
            "hh": hh,
            "village": village,
            "district": village // 10,
            "hh_size": np.bincount(hh)[hh],
            "age": rng.integers(0, 18, len(hh)),
            "sex": rng.integers(0, 2, len(hh)),
            "expend": income * rng.uniform(0.5, 1.0, len(hh)),
            "income": income,
            "savings": income * rng.uniform(0, 0.3, len(hh)),
        }
    )


def _run(df: pd.DataFrame, geography: str, carry: list[str], keys: list[str], hh: str) -> None:
    households = df.groupby(hh)[geography].first()
    _timed(
        "record_swap rate 0.05",
        lambda: record_swap(
            df,
            level=geography,
            rate=0.05,
            similar=["hh_size"],
            carry=carry,
            household=hh,
            risk_columns=keys,
            k=3,
        ),
        df,
    )
    out, record = record_swap(
        df, level=geography, rate=0.05, similar=["hh_size"], carry=carry, household=hh, k=3
    )
    after = out.groupby(hh)[geography].first()
    print(
        f"    swapped {record.details['swapped_units']} of {record.details['units']} households"
        f" ({(after != households).mean():.2%} moved); risky {record.details['risky_units']},"
        f" swapped {record.details['risky_swapped']}; households per area kept:"
        f" {households.value_counts().sort_index().equals(after.value_counts().sort_index())}"
    )
    _timed("shuffle (ds)", lambda: shuffle(df, NUMBERS, keys, seed=1), df)
    _timed("mv_top_code alpha 0.025", lambda: mv_top_code(df, NUMBERS, 0.025), df)
    _timed("microaggregation pca k=3", lambda: microaggregate(df, NUMBERS, 3, "pca"), df)
    strata = carry or [geography]
    _timed(
        f"mdav k=3 within {strata[0]}",
        lambda: microaggregate(df, NUMBERS, 3, "mdav", strata=strata),
        df,
    )
    print("  previous set:")
    _timed("microaggregation mdav k=3", lambda: microaggregate(df, NUMBERS, 3, "mdav"), df)
    _timed("noise sd 0.2", lambda: add_noise(df, NUMBERS, 0.2, seed=1), df)
    _timed("rank_swap p=5", lambda: rank_swap(df, NUMBERS, 5, seed=1), df)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--testdata", type=Path, default=TESTDATA)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    if args.testdata.is_file():
        df = pd.read_csv(args.testdata)
        df["hh_size"] = df.groupby("ori_hid")["ori_hid"].transform("size")
        keys = ["roof", "walls", "water", "electcon", "relat", "sex"]
        print(f"testdata: {len(df)} records, {df['ori_hid'].nunique()} households")
        _run(df, "urbrur", [], keys, "ori_hid")
    df = _census(args.rows)
    print(f"census-like: {len(df)} records, {df['hh'].nunique()} households")
    _run(df, "village", ["district"], ["age", "sex"], "hh")


if __name__ == "__main__":
    main()
