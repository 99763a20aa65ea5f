"""Local suppression to k (sdc.anonymize.suppress) and MDAV microaggregation: speed and quality.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_suppress.py [--quick] [--no-baseline]

1. sdcMicro's testdata (4,580 records; keys urbrur roof walls water electcon relat sex, the
   keys of sdcMicro's examples), k = 2, 3, 5: our suppressions against a re-implementation
   of the heuristic sdcMicro's ``localSuppression`` documents (tests/anonymize/
   _sdcmicro_style.py; it is not sdcMicro itself, which is not installed here).
2. 100,000 records x 8 keys, k = 3, two generators:
   - "resampled": testdata's records drawn with replacement, 3 % of each key redrawn from
     its marginal, plus age (jittered by up to 3 years) in 5-year bands as the 8th key;
   - "independent": every key drawn independently from testdata's marginals (age in
     years), the worst case: about a fifth of the records violate 3-anonymity.
   The target is under 10 s on a 2-core machine.
3. MDAV on 30,000 records x 3 numeric columns (log-normal), k = 3.

Every result is checked independently with sdc.risk.frequencies.key_frequencies.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdc.anonymize.microaggregation import microaggregate  # noqa: E402
from sdc.anonymize.suppress import local_suppression, suppression_order  # noqa: E402
from sdc.risk.frequencies import encode_keys, key_frequencies  # noqa: E402
from tests.anonymize._sdcmicro_style import sdcmicro_style  # noqa: E402

KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
TESTDATA = ROOT / "tests" / "data" / "sdcmicro_testdata_keys.csv"


def check(df: pd.DataFrame, quasi: list[str], k: int) -> int:
    fk = key_frequencies(encode_keys(df, quasi, "wildcard")).fk
    assert fk.min() >= k, f"k={k} not reached: min f_k {fk.min()}"
    return int(fk.min())


def per_var(rec_changed: dict[str, int]) -> str:
    return " ".join(f"{c}={v}" for c, v in rec_changed.items())


def bench_testdata(baseline: bool) -> None:
    df = pd.read_csv(TESTDATA)
    print(f"== sdcMicro testdata: {len(df)} records, keys {' '.join(KEYS)}")
    codes = encode_keys(df, KEYS, "wildcard")
    order = [KEYS.index(c) for c in suppression_order(df, KEYS)]
    for k in (2, 3, 5):
        start = time.perf_counter()
        out, rec = local_suppression(df, KEYS, k)
        took = time.perf_counter() - start
        check(out, KEYS, k)
        line = (
            f"k={k}: violating before {rec.details['violating_before']}, ours {rec.total} "
            f"suppressions ({rec.share:.2%} of values) in {took:.3f} s"
        )
        if baseline:
            start = time.perf_counter()
            theirs = sdcmicro_style(codes, k, order)
            took_b = time.perf_counter() - start
            assert key_frequencies(theirs).fk.min() >= k
            new = (theirs < 0) & (codes >= 0)
            line += f"; sdcMicro-style {int(new.sum())} in {took_b:.3f} s"
        print(line)
        print(f"    ours per variable: {per_var(rec.per_variable)}")
        if baseline:
            print(
                "    sdcMicro-style:    "
                + " ".join(f"{c}={int(v)}" for c, v in zip(KEYS, new.sum(axis=0), strict=True))
            )


def resampled(n: int, seed: int = 1) -> tuple[pd.DataFrame, list[str]]:
    src = pd.read_csv(TESTDATA)
    rng = np.random.default_rng(seed)
    big = src.iloc[rng.integers(0, len(src), n)].reset_index(drop=True)
    big["age"] = np.clip(big["age"].to_numpy() + rng.integers(-3, 4, n), 0, 99) // 5
    for c in KEYS:
        flip = rng.random(n) < 0.03
        big.loc[flip, c] = rng.choice(src[c].to_numpy(), int(flip.sum()))
    return big, [*KEYS, "age"]


def independent(n: int, seed: int = 1) -> tuple[pd.DataFrame, list[str]]:
    src = pd.read_csv(TESTDATA)
    rng = np.random.default_rng(seed)
    big = pd.DataFrame({c: rng.choice(src[c].to_numpy(), n) for c in [*KEYS, "age"]})
    return big, [*KEYS, "age"]


def bench_large(n: int) -> None:
    for name, make in (("resampled", resampled), ("independent", independent)):
        df, quasi = make(n)
        start = time.perf_counter()
        out, rec = local_suppression(df, quasi, 3)
        took = time.perf_counter() - start
        check(out, quasi, 3)
        print(
            f"== {n:,} records x {len(quasi)} keys ({name}), k=3: {took:.2f} s, "
            f"violating before {rec.details['violating_before']}, {rec.total} suppressions "
            f"({rec.share:.3%} of values), {rec.details['iterations']} rounds"
        )
        print(f"    per variable: {per_var(rec.per_variable)}")


def bench_mdav(n: int) -> None:
    rng = np.random.default_rng(4)
    df = pd.DataFrame(
        {
            "income": rng.lognormal(10, 1, n),
            "expend": rng.lognormal(9, 0.8, n),
            "savings": rng.lognormal(8, 1.5, n),
        }
    )
    start = time.perf_counter()
    out, rec = microaggregate(df, list(df.columns), 3)
    took = time.perf_counter() - start
    assert np.allclose(out.mean(), df.mean())
    print(
        f"== MDAV {n:,} records x 3 columns, k=3: {took:.2f} s, {rec.details['groups']} groups "
        f"of {rec.details['smallest_group']}..{rec.details['largest_group']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 instead of 100,000 rows")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sdcMicro-style run")
    args = parser.parse_args()
    bench_testdata(baseline=not args.no_baseline)
    bench_large(10_000 if args.quick else 100_000)
    bench_mdav(3_000 if args.quick else 30_000)


if __name__ == "__main__":
    main()
