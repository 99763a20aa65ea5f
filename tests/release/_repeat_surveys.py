"""Generated Kobo- and ODK-like exports with a repeat group, for the related-table tests.

Kobo: one workbook, the main sheet with ``_index``/``_uuid`` and a members sheet with
``_parent_index``, ``_index``, ``_submission__id`` and ``_submission__uuid``. ODK: a main
CSV with ``KEY`` and a repeat CSV with ``PARENT_KEY`` and its own ``KEY``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd


def households(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` respondents and their household members (1 to 3 each)."""
    rng = np.random.default_rng(seed)
    main = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n),
            "region": rng.choice(["north", "south"], n),
            "hiv": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
        }
    )
    sizes = rng.integers(1, 4, n)
    parent = np.repeat(np.arange(n), sizes)
    members = pd.DataFrame(
        {
            "parent": parent,
            "m_sex": rng.choice(["f", "m"], len(parent)),
            "m_age": rng.integers(0, 90, len(parent)),
            "m_school": rng.choice(["none", "primary", "secondary"], len(parent)),
        }
    )
    return main, members


def kobo_workbook(folder: Path, n: int = 400, seed: int = 7) -> Path:
    """A Kobo XLSX export: sheets ``survey`` and ``members``."""
    main, members = households(n, seed)
    ids = [str(uuid.UUID(int=int(i) + 1000)) for i in range(n)]
    main.insert(0, "_index", np.arange(1, n + 1))
    main.insert(1, "_uuid", ids)
    kids = pd.DataFrame(
        {
            "m_sex": members["m_sex"],
            "m_age": members["m_age"],
            "m_school": members["m_school"],
            "_index": np.arange(1, len(members) + 1),
            "_parent_index": members["parent"] + 1,
            "_submission__id": members["parent"] + 50000,
            "_submission__uuid": [ids[p] for p in members["parent"]],
        }
    )
    path = folder / "survey.xlsx"
    with pd.ExcelWriter(path) as writer:
        main.to_excel(writer, sheet_name="survey", index=False)
        kids.to_excel(writer, sheet_name="members", index=False)
    return path


def odk_csvs(folder: Path, n: int = 400, seed: int = 11) -> tuple[Path, Path]:
    """An ODK Central CSV export: ``survey.csv`` (KEY) and ``survey-incidents.csv``."""
    main, members = households(n, seed)
    keys = [f"uuid:{uuid.UUID(int=int(i) + 7000)}" for i in range(n)]
    main.insert(0, "KEY", keys)
    parent_keys = [keys[p] for p in members["parent"]]
    rank = members.groupby("parent").cumcount() + 1
    repeat = pd.DataFrame(
        {
            "m_sex": members["m_sex"],
            "m_age": members["m_age"],
            "m_school": members["m_school"],
            "PARENT_KEY": parent_keys,
            "KEY": [f"{k}/incidents[{r}]" for k, r in zip(parent_keys, rank, strict=True)],
        }
    )
    main_path, repeat_path = folder / "survey.csv", folder / "survey-incidents.csv"
    main.to_csv(main_path, index=False)
    repeat.to_csv(repeat_path, index=False)
    return main_path, repeat_path


KOBO_POLICY = """\
version: 1
name: kobo-households
columns:
  _uuid: {role: direct}
  sex: {role: quasi}
  region: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 3, max_suppression: 0.3}
outputs:
  microdata: {treatments: [recode, suppress]}
related:
  - name: members
    sheet: members
    link: {column: _parent_index, to: _index}
    columns:
      _index: {role: direct}
      _submission__id: {role: direct}
      _submission__uuid: {role: direct}
      m_sex: {role: quasi}
      m_age: {role: quasi, recode: {bands: [0, 18, 120]}}
      m_school: {role: sensitive}
"""

ODK_POLICY = """\
version: 1
name: odk-incidents
columns:
  sex: {role: quasi}
  region: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 3, max_suppression: 0.3}
outputs:
  microdata: {treatments: [recode, suppress]}
related:
  - name: incidents
    data: survey-incidents.csv
    link: {column: PARENT_KEY, to: KEY}
    columns:
      KEY: {role: direct}
      m_sex: {role: quasi}
      m_age: {role: quasi, recode: {bands: [0, 18, 120]}}
      m_school: {role: sensitive}
"""
