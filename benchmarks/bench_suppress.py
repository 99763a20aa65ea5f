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
4. The two missing-value rules (``missing: category``, the default, and ``wildcard``),
   k = 3, on testdata (with its sampling weights when the full file is at ``--testdata``,
   default /work/shared/data/sdcmicro/testdata.csv, else the keys-only copy in tests/data)
   and on the 100,000 x 8 files (also "independent" with 10 % of the key values blank, so
   that the wildcard rule has blanks to count from the start). For each rule: suppressed
   values and records (a record that lost a value or reveals no key), records below k
   afterwards under each rule's ``protection_counts`` (what release and check accept) and
   under sdcMicro's plain ``freqCalc`` count, and the time of ``local_suppression``. With
   weights, also the expected re-identifications (Benedetti-Franconi, as ``sdc risk``
   reports them under the rule) before and after.

5. ``--million``: 1,000,000 records x 8 keys, k = 3, ``missing: category``, three
   generators: "resampled" and "independent" as above, and "census" (the synthetic census
   of benchmarks/bench_engines.py: age in years, 50 regions, 30 occupations..., without
   blanks; nearly every record starts below k). Target: each under 60 s on 2 cores. The
   progress bar of ``sdc release`` follows the rounds (``progress`` callback); here the
   rounds are printed.

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
sys.path.insert(0, str(ROOT / "benchmarks"))

from sdc.anonymize.microaggregation import microaggregate  # noqa: E402
from sdc.anonymize.suppress import local_suppression, suppression_order  # noqa: E402
from sdc.risk.assess import assess_risk  # noqa: E402
from sdc.risk.frequencies import (  # noqa: E402
    MissingRule,
    all_blank,
    encode_keys,
    key_frequencies,
    protection_counts,
)
from tests.anonymize._sdcmicro_style import sdcmicro_style  # noqa: E402

KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
TESTDATA = ROOT / "tests" / "data" / "sdcmicro_testdata_keys.csv"
FULL_TESTDATA = Path("/work/shared/data/sdcmicro/testdata.csv")
WEIGHT = "sampling_weight"
RULES: tuple[MissingRule, ...] = ("category", "wildcard")


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


def below_k(df: pd.DataFrame, quasi: list[str], k: int) -> dict[str, int]:
    """Records below k: under each rule's protection count, and sdcMicro's plain count.

    Records whose key is all blank reveal no key and are never below k by a rule; sdcMicro's
    ``freqCalc`` counts them as matching everyone too (f_k = n).
    """
    codes = encode_keys(df, quasi, "wildcard")
    blank = all_blank(codes)
    found: dict[str, int] = {
        rule: int(((protection_counts(codes, rule) < k) & ~blank).sum()) for rule in RULES
    }
    found["sdcMicro"] = int((key_frequencies(codes).fk < k).sum())
    return found


def expected_reids(df: pd.DataFrame, quasi: list[str], rule: MissingRule) -> float:
    report = assess_risk(df, quasi=quasi, weight=WEIGHT, missing=rule, suda=False)
    return report.expected_reidentifications


def bench_rules(name: str, df: pd.DataFrame, quasi: list[str], k: int) -> None:
    """Suppression under each missing-value rule; the figures of section 4."""
    weighted = WEIGHT in df.columns
    start_blank = int(df[quasi].isna().any(axis=1).sum())
    print(
        f"== {name}: {len(df):,} records x {len(quasi)} keys, k={k}"
        + (f", weights {WEIGHT!r}" if weighted else ", no weights")
        + f"; {start_blank:,} records with a blank before"
    )
    print(f"    below k before: {below_k(df, quasi, k)}")
    for rule in RULES:
        start = time.perf_counter()
        out, rec = local_suppression(df, quasi, k, missing=rule)
        took = time.perf_counter() - start
        newly = (out[quasi].isna() & df[quasi].notna()).any(axis=1)
        blank = out[quasi].isna().all(axis=1)
        records = int((newly | blank).sum())
        after = below_k(out, quasi, k)
        assert after[rule] == 0, f"{rule}: {after[rule]} records below k after suppression"
        line = (
            f"  {rule:>8}: {took:6.2f} s, {rec.total:,} values ({rec.share:.3%}), "
            f"{records:,} records ({records / len(df):.2%}) suppressed, {rec.details['iterations']}"
            f" rounds; below k after: {after}"
        )
        if weighted:
            line += (
                f"; expected re-identifications ({rule}) {expected_reids(df, quasi, rule):.1f}"
                f" -> {expected_reids(out, quasi, rule):.1f}"
            )
        print(line)
        print(f"            per variable: {per_var(rec.per_variable)}")


def with_blanks(df: pd.DataFrame, share: float, seed: int = 2) -> pd.DataFrame:
    """A copy with ``share`` of the cells blank, at random."""
    rng = np.random.default_rng(seed)
    return df.mask(rng.random(df.shape) < share)


def census(n: int, seed: int = 2024) -> tuple[pd.DataFrame, list[str]]:
    """bench_engines.py's synthetic census (8 keys, no blanks), read back from Parquet."""
    import tempfile

    from bench_engines import QUASI, generate

    path = Path(tempfile.gettempdir()) / f"sdc-bench-census-{n}-{seed}.parquet"
    if not path.exists():
        generate(path, n, seed, 0.0)
    return pd.read_parquet(path, columns=QUASI), list(QUASI)


def bench_million(n: int) -> None:
    """Section 5: local suppression at census size under the category rule."""
    for name, make in (("resampled", resampled), ("independent", independent), ("census", census)):
        df, quasi = make(n)
        start = time.perf_counter()
        rounds: list[str] = []

        def progress(
            lifted: int, below: int, _t: float = start, rounds: list[str] = rounds
        ) -> None:
            rounds.append(f"{lifted:,}/{below:,} at {time.perf_counter() - _t:.1f} s")

        out, rec = local_suppression(df, quasi, 3, missing="category", progress=progress)
        took = time.perf_counter() - start
        after = below_k(out, quasi, 3)["category"]
        assert after == 0, f"{after} records below k after suppression"
        print(
            f"== {n:,} records x {len(quasi)} keys ({name}), k=3, category: {took:.1f} s "
            f"(target 60 s), violating before {rec.details['violating_before']:,}, "
            f"{rec.total:,} suppressions ({rec.share:.2%} of values), "
            f"{rec.details['iterations']} rounds"
        )
        print(f"    records lifted to k: {'; '.join(rounds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 instead of 100,000 rows")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sdcMicro-style run")
    parser.add_argument(
        "--testdata",
        type=Path,
        default=FULL_TESTDATA,
        help="sdcMicro's full testdata CSV (with sampling_weight), if available",
    )
    parser.add_argument("--rules-only", action="store_true", help="run section 4 only")
    parser.add_argument(
        "--million", action="store_true", help="run section 5 only (1,000,000 rows, 8 keys)"
    )
    args = parser.parse_args()
    if args.million:
        bench_million(1_000_000)
        return
    n = 10_000 if args.quick else 100_000
    if not args.rules_only:
        bench_testdata(baseline=not args.no_baseline)
        bench_large(n)
        bench_mdav(3_000 if args.quick else 30_000)
    full = args.testdata if args.testdata.is_file() else TESTDATA
    testdata = pd.read_csv(full)
    columns = [*KEYS, WEIGHT] if WEIGHT in testdata.columns else KEYS
    bench_rules(f"sdcMicro testdata ({full.name})", testdata[columns], KEYS, 3)
    for name, make in (("resampled", resampled), ("independent", independent)):
        df, quasi = make(n)
        bench_rules(f"{name}", df, quasi, 3)
    df, quasi = independent(n)
    bench_rules("independent, 10% blank", with_blanks(df, 0.10), quasi, 3)


if __name__ == "__main__":
    main()
