"""A generated survey the size of a real KoboToolbox export: 1,500 respondents, many columns.

Used by the big-draft tests (tests/release/test_big_draft.py) and the benchmark
(benchmarks/bench_big_draft.py). Realistic in the ways that make a draft policy heavy:
several categorical questions with 2 to 10 answers (the Washington Group disability
questions, marital status, education ...), a few with many values (commune, age in years,
household size), submission timestamps and device ids, a select-multiple question exported
as a text column plus one 0/1 column per option, and names and phone numbers. Values are
drawn with a fixed seed (test data, not DP noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Answers of the Washington Group short set questions.
WG = ["no difficulty", "some difficulty", "a lot of difficulty", "cannot do at all"]
WG_P = [0.78, 0.15, 0.05, 0.02]
#: Options of the select-multiple question "services used".
SERVICES = ["health", "school", "water", "credit", "transport"]


def _pick(rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None):  # type: ignore[no-untyped-def]
    return rng.choice(np.array(values, dtype=object), n, p=p)


def big_survey(n: int = 1500, seed: int = 7) -> pd.DataFrame:
    """The survey: ``n`` respondents, 40 columns (24 of them drafted as quasi-identifiers)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-03-02 08:00") + pd.to_timedelta(
        rng.integers(0, 30 * 24 * 3600, n), unit="s"
    )
    region = rng.integers(0, 5, n)
    frame = pd.DataFrame(
        {
            "start": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "end": (start + pd.to_timedelta(rng.integers(600, 3600, n), unit="s")).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "deviceid": _pick(rng, [f"collect:{rng.integers(10**15):016x}" for _ in range(8)], n),
            "_submitted_by": _pick(rng, ["enum_a", "enum_b", "enum_c", "enum_d", "enum_e"], n),
            "respondent_name": [f"Resp{i:04d} Family{(i * 37) % 997}" for i in range(n)],
            "phone": [f"+2217{(i * 7919) % 10**8:08d}" for i in range(n)],
            "region": np.array(["Dakar", "Thies", "Kaolack", "Ziguinchor", "Louga"])[region],
            "commune": [
                f"C{r}-{c:02d}" for r, c in zip(region, rng.integers(0, 18, n), strict=True)
            ],
            "milieu": _pick(rng, ["urban", "rural"], n, [0.45, 0.55]),
            "sex": _pick(rng, ["female", "male"], n),
            "age": rng.integers(18, 90, n),
            "marital_status": _pick(
                rng,
                ["single", "married", "widowed", "divorced", "separated"],
                n,
                [0.3, 0.5, 0.1, 0.06, 0.04],
            ),
            "education": _pick(
                rng,
                ["none", "koranic", "primary", "secondary", "higher", "vocational"],
                n,
                [0.3, 0.15, 0.25, 0.18, 0.07, 0.05],
            ),
            "household_size": rng.integers(1, 16, n),
            "religion": _pick(
                rng, ["muslim", "christian", "traditional", "none"], n, [0.9, 0.06, 0.02, 0.02]
            ),
            "ethnicity": _pick(
                rng,
                ["wolof", "pulaar", "serer", "jola", "mandinka", "soninke", "other"],
                n,
                [0.4, 0.25, 0.15, 0.06, 0.05, 0.04, 0.05],
            ),
            "employment": _pick(
                rng, ["employed", "self-employed", "unemployed", "student", "inactive"], n
            ),
            "income_band": _pick(rng, [f"band {i}" for i in range(1, 9)], n),
            "disability_type": _pick(
                rng,
                [
                    "none",
                    "physical",
                    "visual",
                    "hearing",
                    "intellectual",
                    "psychosocial",
                    "multiple",
                ],
                n,
                [0.55, 0.15, 0.1, 0.07, 0.05, 0.04, 0.04],
            ),
            **{
                f"difficulty_{d}": _pick(rng, WG, n, WG_P)
                for d in ("seeing", "hearing", "walking", "remembering", "selfcare")
            },
            "hiv_status": _pick(rng, ["negative", "positive", "unknown"], n, [0.85, 0.05, 0.1]),
            "violence_experienced": _pick(rng, ["no", "yes", "refused"], n, [0.7, 0.25, 0.05]),
        }
    )
    chosen = rng.random((n, len(SERVICES))) < [0.6, 0.4, 0.5, 0.15, 0.2]
    frame["services"] = [
        " ".join(s for s, c in zip(SERVICES, row, strict=True) if c) for row in chosen
    ]
    for j, s in enumerate(SERVICES):
        frame[f"services/{s}"] = chosen[:, j].astype(int)
    return frame
