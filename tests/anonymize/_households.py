"""A small household survey for record swapping tests: villages within districts."""

from __future__ import annotations

import numpy as np
import pandas as pd


def household_survey(households: int = 300, villages: int = 8, seed: int = 1) -> pd.DataFrame:
    """Households of 1-5 members; village, district and size are the household's own."""
    rng = np.random.default_rng(seed)
    hh = np.repeat(np.arange(households), rng.integers(1, 6, households))
    village = rng.integers(0, villages, households)[hh]
    return pd.DataFrame(
        {
            "hh": hh + 100,
            "village": np.char.add("v", village.astype(str)),
            "district": np.char.add("d", (village // 4).astype(str)),
            "hh_size": np.bincount(hh)[hh],
            "sex": rng.choice(["f", "m"], len(hh)),
            "age": rng.choice(["0-17", "18-39", "40-64", "65+"], len(hh)),
        }
    )
