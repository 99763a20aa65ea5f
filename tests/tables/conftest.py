from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def microdata(cells: Mapping[tuple[str, ...], int], names: tuple[str, ...]) -> pd.DataFrame:
    """One record per unit of count in each cell: a frequency table back to microdata."""
    rows = [key for key, n in cells.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=list(names))
