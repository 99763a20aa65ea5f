"""Benchmark: key frequencies + individual risk on census-size data, per counting engine.

Generates (once, seeded) a Parquet file of N rows x 8 quasi-identifiers with design
weights and a few suppressed (missing) values, then runs, for each engine in a fresh
process, ``key_frequencies(..., risk=individual_risk)``: f_k, F_k, the summary figures and
the Benedetti-Franconi risk per distinct (f_k, F_k) pair. Prints wall time and the peak
resident memory of that process (for Spark: the Python driver plus the JVM).

    python benchmarks/bench_engines.py                          # 10M rows, pandas + duckdb
    python benchmarks/bench_engines.py --engines duckdb,spark
    python benchmarks/bench_engines.py --rows 100000000 --engines duckdb --memory-limit 6GB
    python benchmarks/bench_engines.py --records                # also write per-record file

Targets on 2 cores: 10M rows under 15 s with duckdb; 100M rows under 3 minutes and under
8 GiB peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

QUASI = ["age", "sex", "region", "marital", "education", "occupation", "ethnicity", "hh_size"]
CHUNK = 5_000_000


def generate(
    path: Path, rows: int, seed: int, missing_rate: float, missing_in: tuple[str, ...]
) -> None:
    """Write the synthetic census to ``path`` in chunks (memory stays ~ one chunk)."""
    rng = np.random.default_rng(seed)
    region_p = 1.0 / np.arange(1, 51) ** 0.8
    region_p /= region_p.sum()
    occ_p = 1.0 / np.arange(1, 31)
    occ_p /= occ_p.sum()
    eth_p = np.array([0.6, 0.15, 0.08, 0.05, 0.04, 0.03, 0.02, 0.015, 0.01, 0.005])
    stratum_weight = rng.choice([50.0, 75.0, 100.0, 150.0, 200.0, 300.0], 50)
    adjust = np.linspace(0.8, 1.2, 16)
    tmp = path.with_suffix(".partial")
    writer: pq.ParquetWriter | None = None
    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        region = rng.choice(50, n, p=region_p).astype(np.int16)
        cols = {
            "age": np.clip(rng.gamma(3.0, 12.0, n), 0, 99).astype(np.int16),
            "sex": rng.integers(0, 2, n).astype(np.int8),
            "region": region,
            "marital": rng.choice(5, n, p=[0.4, 0.4, 0.1, 0.07, 0.03]).astype(np.int8),
            "education": rng.integers(0, 8, n).astype(np.int8),
            "occupation": rng.choice(30, n, p=occ_p).astype(np.int16),
            "ethnicity": rng.choice(10, n, p=eth_p).astype(np.int8),
            "hh_size": np.clip(rng.poisson(3.5, n) + 1, 1, 12).astype(np.int8),
        }
        arrays = {}
        for name, values in cols.items():
            mask = None
            if name in missing_in and missing_rate > 0:
                mask = rng.random(n) < missing_rate
            arrays[name] = pa.array(values, mask=mask)
        arrays["weight"] = pa.array(stratum_weight[region] * rng.choice(adjust, n))
        table = pa.table(arrays)
        if writer is None:
            writer = pq.ParquetWriter(str(tmp), table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1_000_000)
        done += n
    assert writer is not None
    writer.close()
    tmp.replace(path)


def worker(args: argparse.Namespace) -> None:
    """Run one engine on the data and print one JSON line of figures."""
    from sdc.risk.engines import get_engine
    from sdc.risk.individual import individual_risk

    options: dict[str, object] = {}
    if args.engine == "duckdb":
        options = {"memory_limit": args.memory_limit, "threads": args.threads}
    elif args.engine == "spark":
        options = {
            "master": args.spark_master,
            "config": {
                "spark.driver.memory": args.spark_driver_memory,
                "spark.ui.enabled": "false",
                "spark.sql.shuffle.partitions": str(args.spark_partitions),
            },
        }
    engine = get_engine(args.engine, **options)  # type: ignore[arg-type]
    out = None
    if args.records:
        out = Path(tempfile.mkdtemp(prefix="sdc-bench-")) / f"records-{args.engine}.parquet"
    start = time.perf_counter()
    res = engine.key_frequencies(
        args.data,
        QUASI,
        "weight",
        args.rule,
        k=3,
        risk=individual_risk,
        out_path=out,
        per_record=out is not None,
    )
    seconds = time.perf_counter() - start
    jvm_kib = 0
    if args.engine == "spark":
        # Spark's JVM is a child that outlives spark.stop(): read its peak RSS first.
        proc = engine.spark.sparkContext._gateway.proc  # type: ignore[attr-defined]
        status = Path(f"/proc/{proc.pid}/status").read_text()
        jvm_kib = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1])
        engine.spark.stop()  # type: ignore[attr-defined]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + jvm_kib
    s = res.summary
    print(
        json.dumps(
            {
                "engine": args.engine,
                "seconds": round(seconds, 2),
                "peak_gib": round(peak / 2**20, 2),
                "records": s.records,
                "keys": s.keys,
                "pairs": len(res.pairs),
                "sample_uniques": s.sample_uniques,
                "fk_below_3": s.fk_below_3,
                "expected_reidentifications": round(s.risk_sum or 0.0, 3),
                "records_file": None if out is None else str(out),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--missing-rate", type=float, default=0.01)
    parser.add_argument("--engines", default="pandas,duckdb")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "sdc-bench")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 6GB")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-driver-memory", default="6g")
    parser.add_argument("--spark-partitions", type=int, default=16)
    parser.add_argument("--records", action="store_true", help="also write per-record Parquet")
    parser.add_argument(
        "--missing-in",
        default="age,occupation,education",
        help="key variables with missing values, comma-separated, or 'all'",
    )
    parser.add_argument("--rule", choices=["wildcard", "category"], default="wildcard")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        worker(args)
        return

    args.data_dir.mkdir(parents=True, exist_ok=True)
    missing_in = tuple(QUASI if args.missing_in == "all" else args.missing_in.split(","))
    spec = "all" if len(missing_in) == len(QUASI) else "-".join(missing_in)
    data = args.data_dir / f"census-{args.rows}-{args.seed}-{args.missing_rate}-{spec}.parquet"
    if not data.exists():
        start = time.perf_counter()
        generate(data, args.rows, args.seed, args.missing_rate, missing_in)
        print(f"generated {data} in {time.perf_counter() - start:.1f} s", flush=True)
    print(
        f"data: {data} ({data.stat().st_size / 2**20:.0f} MiB), cores: {os.cpu_count()}, "
        f"missing: {args.rule} rule, load average {os.getloadavg()[0]:.1f}"
    )
    files: dict[str, Path] = {}
    for name in args.engines.split(","):
        cmd = [sys.executable, __file__, "--engine", name, "--data", str(data)]
        cmd += ["--spark-master", args.spark_master]
        cmd += ["--spark-driver-memory", args.spark_driver_memory]
        cmd += ["--spark-partitions", str(args.spark_partitions), "--rule", args.rule]
        if args.memory_limit:
            cmd += ["--memory-limit", args.memory_limit]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        if args.records:
            cmd.append("--records")
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            print(f"{name}: failed\n{done.stderr[-2000:]}")
            continue
        r = json.loads(lines[-1])
        if r["records_file"]:
            files[name] = Path(r["records_file"])
        print(
            f"{name:7s} {r['seconds']:8.2f} s  peak {r['peak_gib']:6.2f} GiB  "
            f"records {r['records']:,}  keys {r['keys']:,}  pairs {r['pairs']:,}  "
            f"uniques {r['sample_uniques']:,}  f<3 {r['fk_below_3']:,}  "
            f"E[reid] {r['expected_reidentifications']:,}"
        )
    compare(files)


def compare(files: dict[str, Path]) -> None:
    """Say whether every engine's per-record results equal the first engine's."""
    if len(files) < 2:
        return
    names = list(files)
    base = pq.read_table(files[names[0]]).to_pandas()
    for name in names[1:]:
        other = pq.read_table(files[name]).to_pandas()
        same = (
            len(base) == len(other)
            and (base["row"].to_numpy() == other["row"].to_numpy()).all()
            and (base["f_k"].to_numpy() == other["f_k"].to_numpy()).all()
            and np.allclose(base["F_k"], other["F_k"], rtol=1e-9)
            and np.allclose(base["r_k"], other["r_k"], rtol=1e-9)
        )
        verdict = "agree on every record" if same else "DISAGREE"
        print(f"{names[0]} and {name}: {verdict} (row, f_k, F_k, r_k; {len(base):,} records)")


if __name__ == "__main__":
    main()
