"""Export of a suppression table and its pattern in tau-Argus' tabular input format.

So that a statistical office can cross-check a table in tau-Argus (the tool most offices use
for cell suppression), :func:`write_argus` writes, per table:

- ``NAME.tab``: one line per cell, margins included (code ``Total``), ``;``-separated: the
  ``by`` codes, the cell value, the number of contributing records and, for magnitude tables,
  the largest contributions (tau-Argus' ``MAXSCORE``);
- ``NAME.rda``: the metadata tau-Argus reads the ``.tab`` file with (``<SEPARATOR>``,
  ``<SAFE>``/``<UNSAFE>``/``<PROTECT>`` status codes, one block per column: ``<RECODEABLE>``
  with ``<TOTCODE>`` and, for a hierarchy, ``<HIERARCHICAL>``/``<HIERCODELIST>``/
  ``<HIERLEADSTRING>``; ``<NUMERIC>``, ``<FREQUENCY>``, ``<MAXSCORE>``);
- ``NAME.hst``: the a-priori file: our primary cells as unsafe (``u``) and the cells the
  policy keeps published as protected (``p``), ``,``-separated codes then the status;
- ``COLUMN.hrc``: a hierarchy, one code per line, ``@`` repeated for each level below the top;
- ``NAME.pattern.csv``: our pattern (the bundle's flags) beside the true values, to compare
  with tau-Argus' result.

These files hold the true values of every cell, suppressed ones included: they are for the
office, never for publication (``sdc argus`` refuses to write them inside a bundle).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.tables._cube import TOTAL, build_dimension
from sdc.tables.build import ProtectedTable

SEPARATOR = ";"
LEAD = "@"


def write_argus(
    table: ProtectedTable, folder: Path, hierarchies: Mapping[str, Mapping[str, str]] | None
) -> list[Path]:
    """Write one suppression table's tau-Argus files into ``folder``; returns the paths.

    Raises:
        ValueError: if the table was not protected by suppression.
    """
    if table._problem is None or table._labels is None or table._stats is None:
        raise ValueError(f"table {table.name} is not protected by cell suppression")
    folder.mkdir(parents=True, exist_ok=True)
    spec, labels, stats = table.spec, table._labels, table._stats
    by = list(spec.by)
    tops = stats.top.shape[1] if spec.statistic != "count" else 0
    cells = labels.astype(str).copy()
    cells["value"] = table._problem.values
    cells["freq"] = stats.records
    for i in range(tops):
        cells[f"top{i + 1}"] = stats.top[:, i]
    name = table.name
    written = [folder / f"{name}.tab", folder / f"{name}.rda", folder / f"{name}.hst"]
    cells.to_csv(written[0], sep=SEPARATOR, header=False, index=False, float_format="%.15g")
    hrc = {c: h for c, h in (hierarchies or {}).items() if c in by}
    for column, links in hrc.items():
        path = folder / f"{column}.hrc"
        path.write_text(_hrc_text(column, labels[column], links), encoding="utf-8")
        written.append(path)
    written[1].write_text(_rda_text(spec.statistic, by, tops, hrc), encoding="utf-8")
    written[2].write_text(_hst_text(table, cells[by]), encoding="utf-8")
    pattern = labels.astype(str).assign(value=table._problem.values, flag=table.table["flag"])
    written.append(folder / f"{name}.pattern.csv")
    pattern.to_csv(written[-1], index=False)
    return written


def _rda_text(statistic: str, by: list[str], tops: int, hrc: Mapping[str, object]) -> str:
    lines = [
        f'   <SEPARATOR> "{SEPARATOR}"',
        '   <SAFE> "s"',
        '   <UNSAFE> "u"',
        '   <PROTECT> "p"',
    ]
    for column in by:
        lines += [column, "  <RECODEABLE>", f'  <TOTCODE> "{TOTAL}"']
        if column in hrc:
            lines += ["  <HIERARCHICAL>", f'  <HIERCODELIST> "{column}.hrc"']
            lines.append(f'  <HIERLEADSTRING> "{LEAD}"')
    lines += ["value", "  <NUMERIC>", f"  <DECIMALS> {0 if statistic == 'count' else 6}"]
    lines += ["freq", "  <FREQUENCY>"]
    for i in range(tops):
        lines += [f"top{i + 1}", "  <MAXSCORE>", "  <DECIMALS> 6"]
    return "\n".join(lines) + "\n"


def _hrc_text(column: str, codes: pd.Series, links: Mapping[str, str]) -> str:
    """The hierarchy below ``Total``, depth-first, ``@`` once per level below the top."""
    parents = {str(p) for c, p in links.items() if str(c) != str(p)}
    leaves = [c for c in dict.fromkeys(codes.astype(str)) if c != TOTAL and c not in parents]
    dim = build_dimension(column, leaves, links)
    children = dim.children()
    lines: list[str] = []

    def visit(node: int, depth: int) -> None:
        lines.append(LEAD * depth + dim.labels[node])
        for child in children.get(node, np.zeros(0, dtype=np.int64)):
            visit(int(child), depth + 1)

    total = dim.size - 1
    for top in children.get(total, np.zeros(0, dtype=np.int64)):
        visit(int(top), 0)
    return "\n".join(lines) + "\n"


def _hst_text(table: ProtectedTable, codes: pd.DataFrame) -> str:
    assert table._problem is not None
    status = np.full(len(codes), "", dtype=object)
    status[table._problem.primary] = "u"
    if table._problem.keep is not None:
        status[table._problem.keep] = "p"
    rows = codes.assign(status=status)[status != ""]
    return rows.to_csv(header=False, index=False, sep=",", lineterminator="\n")
