"""Benchmark: optimal generalisation on adult (ARX's example data set).

Quasi-identifiers age, education, marital-status, native-country, race, sex, workclass with
ARX's hierarchies (the "7 QIs"; "9 QIs" adds occupation and salary-class); occupation is the
sensitive attribute when l is set. Each line prints the optimal transformation (levels in
the order of the QIs), the loss measures (arithmetic mean, geometric mean = ARX's default
aggregate of its Loss metric, discernibility), the suppressed records, the nodes checked
out of the lattice and the wall time (median of --repeat runs, including integer encoding,
the transformed frame and the loss measures). With --verify every case is also solved by
checking every node (``strategy="exhaustive"``) and must give the same levels.

Also reproduces ARX's published reference point (ARX test suite, TestUtilityMetricsLoss
case 1: 8 QIs, k=5, 100% suppression limit, Loss metric), and with --cli times the whole
``sdc release`` command with ``generalize: auto`` on adult (7 and 9 QIs, k=5, 5%).

With --baseline DIR (a source tree of another version of sdc, e.g. from ``git archive``)
the search cases that both versions understand and the CLI runs are timed for both trees,
interleaved, each in fresh processes, and the ratios printed: the comparison is measured
in the same go, so machine load affects both alike.

    python benchmarks/bench_generalize.py [--data /work/shared/data/adult] [--repeat 5]
        [--verify] [--cli] [--baseline /tmp/sdc-base]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

QIS = ["age", "education", "marital-status", "native-country", "race", "sex", "workclass"]
QIS9 = [*QIS, "occupation", "salary-class"]
HERE = Path(__file__).resolve().parent.parent

# Cases both the current and an older search understand (for --baseline): (QIs, kwargs).
COMMON = [
    (7, {"k": 2, "max_suppression": 0.0}),
    (7, {"k": 2, "max_suppression": 0.05}),
    (7, {"k": 5, "max_suppression": 0.0}),
    (7, {"k": 5, "max_suppression": 0.05}),
    (7, {"k": 10, "max_suppression": 0.0}),
    (7, {"k": 10, "max_suppression": 0.05}),
    (9, {"k": 2, "max_suppression": 0.05}),
    (9, {"k": 5, "max_suppression": 0.05}),
    (9, {"k": 10, "max_suppression": 0.05}),
]


def hierarchies(folder: Path, columns: list[str]) -> dict:
    from sdc.hierarchy import Hierarchy

    return {c: Hierarchy.from_csv(folder / f"adult_hierarchy_{c}.csv") for c in columns}


def label_of(m: int, kwargs: dict) -> str:
    label = f"{m} QIs k={kwargs['k']}"
    if kwargs.get("l"):
        label += f",l={kwargs['l']}"
        if kwargs.get("l_diversity", "distinct") != "distinct":
            label += f" {kwargs['l_diversity']}"
    label += f" supp<={kwargs.get('max_suppression', 0.0):.0%}"
    if kwargs.get("metric", "loss") != "loss":
        label += f" [{kwargs['metric']}]"
    elif kwargs.get("aggregate", "geometric") != "geometric":
        label += f" [{kwargs['aggregate']}]"
    if kwargs.get("weight"):
        label += " [weights]"
    if kwargs.get("max_level"):
        label += f" [max_level {kwargs['max_level']}]"
    return label


def run_case(df: pd.DataFrame, hs: dict, repeat: int, verify: bool, **kwargs: object) -> None:
    from sdc.anonymize.search import optimal_generalization

    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = optimal_generalization(df, hs, **kwargs)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
    assert result is not None
    if verify:
        full = optimal_generalization(df, hs, **kwargs, strategy="exhaustive")  # type: ignore[arg-type]
        assert full.levels == result.levels, (label_of(len(hs), kwargs), full.levels)
    loss = result.loss
    removed = f" removed {','.join(result.removed)}" if result.removed else ""
    print(
        f"{label_of(len(hs), kwargs):<44} {str(list(result.levels.values())):<28} "
        f"{loss.loss:8.5f} {loss.loss_geometric:8.5f} {loss.discernibility:12.0f} "
        f"{loss.suppressed_records:5d} {result.nodes_checked:5d}/{result.lattice_size:<6d} "
        f"{statistics.median(times) * 1000:7.1f} ms{removed}"
    )


def header() -> None:
    print(
        f"{'case':<44} {'levels':<28} {'mean':>8} {'geometric':>8} {'discernib.':>12} "
        f"{'supp':>5} {'checked':>12} {'time':>10}"
    )


def cases(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    df = pd.read_csv(args.data / "adult.csv", sep=";")
    hs = hierarchies(args.data, QIS)
    hs9 = hierarchies(args.data, QIS9)
    print(f"adult: {len(df)} records, read in {time.perf_counter() - t0:.2f} s; QIs {QIS}")
    print("(9 QIs add occupation and salary-class; time = median of --repeat runs)\n")
    header()
    print("-- ARX's model: Loss with its default geometric-mean aggregate")
    for k in (2, 5, 10):
        for supp in (0.0, 0.05):
            run_case(df, hs, args.repeat, args.verify, k=k, max_suppression=supp)
    for k in (2, 5, 10):
        run_case(df, hs9, args.repeat, args.verify, k=k, max_suppression=0.05)
    print("-- arithmetic mean and discernibility")
    for k in (2, 5, 10):
        for supp in (0.0, 0.05):
            run_case(df, hs, args.repeat, args.verify, k=k, max_suppression=supp, aggregate="mean")
    for k in (2, 5, 10):
        for supp in (0.0, 0.05):
            run_case(
                df, hs, args.repeat, args.verify, k=k, max_suppression=supp, metric="discernibility"
            )
    print("-- l-diversity of occupation (entropy and recursive are not monotone with suppression)")
    for kind in ("distinct", "entropy", "recursive"):
        for k, l in ((2, 2), (5, 3)):  # noqa: E741
            for supp in (0.0, 0.05):
                run_case(
                    df,
                    hs,
                    args.repeat,
                    args.verify,
                    k=k,
                    l=l,
                    l_diversity=kind,
                    sensitive=["occupation"],
                    max_suppression=supp,
                )
    print("-- attribute weights (age importance 1, the others 3) and a level cap")
    weight = {c: 1.0 if c == "age" else 1 / 3 for c in QIS}
    run_case(df, hs, args.repeat, args.verify, k=5, max_suppression=0.05, weight=weight)
    run_case(df, hs, args.repeat, args.verify, k=5, max_suppression=0.05, max_level={"age": 2})

    from sdc.anonymize.loss import information_loss

    print("\nARX reference (TestUtilityMetricsLoss case 1: 8 QIs, k=5, suppression limit 100%)")
    qis8 = ["sex", "age", "race", "marital-status", "education", "native-country"]
    qis8 += ["workclass", "salary-class"]
    hs8 = hierarchies(args.data, qis8)
    arx_levels = dict(zip(qis8, [0, 3, 0, 0, 1, 0, 0, 0], strict=True))
    gen = pd.DataFrame({c: hs8[c].generalize(df[c], arx_levels[c]).astype(str) for c in qis8})
    mask = (gen.groupby(qis8)[qis8[0]].transform("size") < 5).to_numpy()
    arx = information_loss(df, hs8, arx_levels, suppressed=mask)
    print(f"  ARX node {list(arx_levels.values())}: suppressed {int(mask.sum())}")
    vector = np.round(sorted(arx.loss_by_attribute.values(), reverse=True), 10).tolist()
    print(f"    our per-attribute loss (sorted) {vector}")
    print("    ARX published                   [0.297248193, 0.29678055, 0.1297659306 x 6]")
    print(f"    mean {arx.loss:.6f}  geometric {arx.loss_geometric:.6f}")
    header()
    run_case(df, hs8, args.repeat, args.verify, k=5, max_suppression=1.0)
    run_case(df, hs8, args.repeat, args.verify, k=5, max_suppression=1.0, aggregate="mean")


# ---------------------------------------------------------------------- timing workers


def worker(data: Path, inner: int) -> None:
    """Time the COMMON cases in this process (whichever sdc is on the path); print JSON."""
    from sdc.anonymize.search import optimal_generalization

    df = pd.read_csv(data / "adult.csv", sep=";")
    hs = {7: hierarchies(data, QIS), 9: hierarchies(data, QIS9)}
    out = []
    for m, kwargs in COMMON:
        best = float("inf")
        for _ in range(inner):
            t0 = time.perf_counter()
            res = optimal_generalization(df, hs[m], aggregate="geometric", **kwargs)
            best = min(best, time.perf_counter() - t0)
        out.append(
            {
                "label": label_of(m, kwargs),
                "seconds": best,
                "levels": list(res.levels.values()),
                "geometric": res.loss.loss_geometric,
                "checked": res.nodes_checked,
            }
        )
    print(json.dumps(out))


def run_worker(tree: Path, data: Path, inner: int) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", "--data", str(data), "--inner", str(inner)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tree,
    )
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


def cli_setup(data: Path, folder: Path) -> dict[str, Path]:
    """Copy adult and its hierarchies into ``folder`` and write the 7- and 9-QI policies."""
    for f in data.glob("adult*.csv"):
        shutil.copy(f, folder / f.name)
    policies = {}
    for name, qis in (("7 QIs", QIS), ("9 QIs", QIS9)):
        lines = [f"  {c}: {{role: quasi, recode: {{map: adult_hierarchy_{c}.csv}}}}" for c in qis]
        lines += [f"  {c}: {{role: sensitive}}" for c in QIS9 if c not in qis]
        text = (
            f"version: 1\nname: adult-{len(qis)}\ncolumns:\n" + "\n".join(lines) + "\n"
            "thresholds: {k: 5, max_suppression: 0.05}\n"
            "outputs:\n  microdata: {generalize: auto}\n"
        )
        path = folder / f"policy{len(qis)}.yaml"
        path.write_text(text, encoding="utf-8")
        policies[name] = path
    return policies


def time_cli(tree: Path, folder: Path, policy: Path) -> float:
    out = folder / f"out-{time.monotonic_ns()}"
    env = dict(os.environ, PYTHONPATH=str(tree), SDC_LEDGER=str(folder / "ledger.jsonl"))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sdc", "release", str(folder / "adult.csv")]
        + ["--policy", str(policy), "--out", str(out)],
        env=env,
        check=True,
        capture_output=True,
        cwd=tree,
    )
    seconds = time.perf_counter() - t0
    shutil.rmtree(out)
    return seconds


def time_import(tree: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import sdc.cli, sdc.release.pipeline"],
        env=env,
        check=True,
        cwd=tree,
    )
    return time.perf_counter() - t0


def compare(args: argparse.Namespace) -> None:
    trees = {"current": HERE}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
    if args.baseline:
        print(f"\nSearch alone, fresh processes, interleaved; min of {args.repeat} x 3 runs")
        runs: dict[str, list[list[dict]]] = {t: [] for t in trees}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                runs[name].append(run_worker(tree, args.data, 3))
        print(f"{'case':<30} {'baseline':>10} {'current':>10} {'ratio':>7}  checked  levels")
        for i, (m, kwargs) in enumerate(COMMON):
            base = min(r[i]["seconds"] for r in runs["baseline"])
            cur = min(r[i]["seconds"] for r in runs["current"])
            b0, c0 = runs["baseline"][0][i], runs["current"][0][i]
            same = "same" if b0["levels"] == c0["levels"] else f"DIFFER {b0['levels']}"
            print(
                f"{label_of(m, kwargs):<30} {base * 1000:8.1f}ms {cur * 1000:8.1f}ms "
                f"{base / cur:6.2f}x  {b0['checked']:>3}->{c0['checked']:<3} {same}"
            )
    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            policies = cli_setup(args.data, folder)
            print(f"\nWhole `sdc release` (k=5, 5%), wall time of the command; {args.repeat} runs")
            times: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    times.setdefault((name, "import"), []).append(time_import(tree))
                    for label, policy in policies.items():
                        times.setdefault((name, label), []).append(time_cli(tree, folder, policy))
            for label in ("import", *policies):
                row = f"  {label:<8}"
                for name in trees:
                    t = times[(name, label)]
                    row += f"  {name}: median {statistics.median(t):5.2f} s, min {min(t):5.2f} s"
                if args.baseline:
                    ratio = statistics.median(times[("baseline", label)]) / statistics.median(
                        times[("current", label)]
                    )
                    row += f"  ratio {ratio:4.2f}x"
                print(row)
            print("  (import = `import sdc.cli, sdc.release.pipeline` alone, in a fresh process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/adult"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verify", action="store_true", help="also solve exhaustively")
    parser.add_argument("--cli", action="store_true", help="time the whole sdc release")
    parser.add_argument("--baseline", type=Path, help="a source tree of another sdc version")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inner", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--skip-cases", action="store_true", help="only --baseline/--cli")
    args = parser.parse_args()
    if args.worker:
        worker(args.data, args.inner)
        return
    if not args.skip_cases:
        cases(args)
    compare(args)


if __name__ == "__main__":
    main()
