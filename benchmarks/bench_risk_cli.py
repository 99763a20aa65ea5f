"""The whole ``sdc risk`` process on 1,000,000 rows from Parquet, as a user runs it.

Run: ``PYTHONPATH=. python benchmarks/bench_risk_cli.py [--rows N] [--repeat R] [--dir D]``

Writes (once, seeded) two Parquet files of N rows with 8 categorical quasi-identifiers, a
sampling weight and one sensitive column, one without missing values and one with 5% missing
values per quasi-identifier, and a policy for each (the second with ``missing: wildcard``).
Then runs ``python -m sdc risk FILE --policy P --json OUT`` as a subprocess (the pandas
engine, the default report) and prints the best wall-clock and CPU seconds of R runs and the
peak resident memory of the process (from ``wait4``; the data are generated in a child
process, because Linux carries the parent's peak into a child's). Also times ``sdc --help``
(the CLI's start-up). ``--extra=--suda`` adds an option to every run. On a shared machine the
CPU time is the steadier figure; compare with the code before a change in the same session.

Targets (issue 14, 2-core machine): <= 2.5 s without missing values, <= 10 s with 5% missing
values under the wildcard rule.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: Cardinalities of a realistic survey key: age band, sex, district, marital status,
#: education, employment, disability type, ethnicity (as in bench_risk.py).
CARDINALITIES = (20, 2, 50, 5, 8, 5, 6, 10)
QUASI = [f"q{i}" for i in range(len(CARDINALITIES))]

POLICY = """\
version: 1
name: bench-{label}
data: {{weight: w}}
missing: {missing}
columns:
{columns}
  hiv: {{role: sensitive}}
thresholds: {{k: 3}}
"""


def make_data(rows: int, seed: int, missing: float) -> pd.DataFrame:
    """Seeded survey-like data: skewed string categories, a weight, a sensitive column."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for name, card in zip(QUASI, CARDINALITIES, strict=True):
        p = rng.dirichlet(np.full(card, 0.7))  # skewed category frequencies
        labels = np.array([f"{name}_{i}" for i in range(card)], dtype=object)
        values = labels[rng.choice(card, size=rows, p=p)]
        if missing:
            values[rng.random(rows) < missing] = None
        data[name] = values
    data["w"] = rng.uniform(20, 400, rows).round(2)
    data["hiv"] = rng.choice(np.array(["no", "yes", "unknown"]), size=rows, p=[0.85, 0.1, 0.05])
    return pd.DataFrame(data)


def write_inputs(folder: Path, rows: int, seed: int) -> list[tuple[str, Path, Path]]:
    """The two Parquet files and their policies (written only when absent)."""
    out = []
    for label, missing, rule in (("complete", 0.0, "category"), ("missing5", 0.05, "wildcard")):
        data = folder / f"risk-{rows}-{label}.parquet"
        policy = folder / f"risk-{rows}-{label}.yaml"
        if not data.exists():  # in a child process: the timed runs inherit this one's peak RSS
            make = f"make_data({rows}, {seed}, {missing}).to_parquet({str(data)!r}, index=False)"
            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            code += f"from bench_risk_cli import make_data; {make}"
            subprocess.run([sys.executable, "-c", code], check=True)
        columns = "\n".join(f"  {q}: {{role: quasi}}" for q in QUASI)
        text = POLICY.format(label=label, missing=rule, columns=columns)
        policy.write_text(text, encoding="utf-8")
        out.append((f"{label} ({rule})", data, policy))
    return out


def run(args: list[str]) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds, peak RSS (MiB) and exit code of one ``python -m sdc``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdc", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sdc {' '.join(args)} failed ({proc.returncode}):\n{err}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024, proc.returncode


def show(label: str, runs: list[tuple[float, float, float, int]]) -> None:
    """The best wall and CPU time of the runs, their peak RSS and the last exit code."""
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    print(
        f"{label:<30} {wall:7.2f} s wall  {cpu:7.2f} s CPU   peak RSS {rss:7.1f} MiB"
        f"   exit {runs[-1][3]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best is shown)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "sdc-bench")
    parser.add_argument("--extra", nargs="*", default=[], help="more sdc risk options (--suda)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    cases = write_inputs(args.dir, args.rows, args.seed)

    show("sdc --help", [run(["--help"]) for _ in range(args.repeat)])
    print(f"sdc risk on {args.rows:,} rows x {len(QUASI)} quasi-identifiers, weight, 1 sensitive")
    for label, data, policy in cases:
        out = args.dir / f"{data.stem}.json"
        out.unlink(missing_ok=True)
        cmd = ["risk", str(data), "--policy", str(policy), "--json", str(out), *args.extra]

        def fresh(cmd: list[str] = cmd, out: Path = out) -> tuple[float, float, float, int]:
            out.unlink(missing_ok=True)
            return run(cmd)

        show(label, [fresh() for _ in range(args.repeat)])


if __name__ == "__main__":
    main()
