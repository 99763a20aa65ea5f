"""A big draft stays usable: `sdc release` on 1,500 records with 24 quasi-identifiers.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_big_draft.py [--suda-sizes 5]

The survey is tests/big_survey.py's (a KoboToolbox-like export: timestamps, device ids,
Washington Group questions, a select-multiple question as a text column plus 0/1 option
columns, commune with 90 values); the policy is the draft `sdc scan` writes for it (24
quasi-identifiers, k = 5, l = 2, max_suppression 5%). Timed, each in a fresh process-less
call of the library (the CLI adds well under a second of imports):

1. the release of the draft as written: refused before any suppression by the lower bound
   (records below k that must lose a value);
2. the same with max_suppression 0.99: local suppression runs, then the release is refused
   on the suppression share;
3. with max_suppression 1.0: the release finishes (every record loses a value), with SUDA
   bounded to MSUs of 4 of the 24 quasi-identifiers;
4. SUDA2 alone on the recoded keys for MSU sizes 2 .. --suda-sizes (a full search of all 24
   sizes takes minutes: 3 min 12 s before this change, in the "risk before" step).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdc.errors import PolicyNotMet  # noqa: E402
from sdc.risk.frequencies import encode_keys  # noqa: E402
from sdc.risk.suda import suda2  # noqa: E402
from sdc.workflow import load_inputs, run_release  # noqa: E402
from tests.big_survey import big_survey  # noqa: E402


def _release(data: Path, policy: Path, out: Path) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        result = run_release(data, policy, out)
        outcome = f"released ({len(result.files)} files)"
    except PolicyNotMet as exc:
        outcome = f"refused: {str(exc)[:110]}..."
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suda-sizes", type=int, default=5, help="largest MSU size timed")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-big-draft-"))
    os.environ["SDC_LEDGER"] = str(folder / "ledger.jsonl")
    data = folder / "survey.csv"
    big_survey().to_csv(data, index=False)
    from click.testing import CliRunner

    from sdc.cli import cli

    draft = folder / "draft.yaml"
    CliRunner().invoke(cli, ["scan", str(data), "-o", str(draft)])
    text = draft.read_text(encoding="utf-8")
    _, policy = load_inputs(data, draft)
    print(f"survey: 1,500 records, {len(policy.quasi)} quasi-identifiers in the scan draft")
    for share in ("0.05", "0.99", "1.0"):
        path = folder / f"draft-{share}.yaml"
        path.write_text(
            text.replace("max_suppression: 0.05", f"max_suppression: {share}"), encoding="utf-8"
        )
        seconds, outcome = _release(data, path, folder / f"rel-{share}")
        print(f"max_suppression {share:>4}: {seconds:6.1f} s  {outcome}")
    table, policy = load_inputs(data, draft)
    codes = encode_keys(table.frame, policy.quasi, "wildcard")
    for size in range(2, args.suda_sizes + 1):
        started = time.perf_counter()
        suda2(codes, max_msu=size)
        print(f"SUDA2 up to MSU size {size}: {time.perf_counter() - started:6.2f} s")


if __name__ == "__main__":
    main()
