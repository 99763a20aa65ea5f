"""DuckDB engine: out-of-core counting on CSV and Parquet files.

DuckDB reads Parquet directly and spills to ``temp_directory`` when the data do not fit in
``memory_limit``, so a census file never has to fit in Python. A CSV file is first
converted to Parquet (:func:`csv_to_parquet`, with the same missing markers as
:func:`sdc.io.read_table`), because Parquet gives every record a stable row number
(``file_row_number``) and is much faster to scan again.

The plan:

1. ``cells``: the distinct combinations of key values (missing is NULL), with their record
   count ``n``, weight sum ``ws`` and missing pattern ``pat`` (bit j set = variable j
   observed).
2. ``f``/``F`` per cell: with one pattern (or ``missing="category"``) they are ``n``/``ws``;
   otherwise the distinct cells (not the records) are matched across missing-value
   patterns in memory by :func:`~sdc.risk.frequencies.wildcard_key_frequencies`, the code
   the in-memory path uses, and joined back to ``cells``. Distinct keys must fit in memory
   under the wildcard rule (a census of 10M records has a few million).
3. Summary figures and the distinct ``(f_k, F_k)`` pairs are aggregates over the cells.
4. Per-record results (only on request) join the records back to their cell, in row order,
   and go straight to a Parquet file or to numpy arrays.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sdc.errors import DataError
from sdc.risk.engines.base import (
    DataSource,
    DiversitySummary,
    FrequencyResult,
    LMeasure,
    RiskFunction,
    check_columns,
    check_diversity_request,
    check_grouped_request,
    check_request,
    check_rows,
    diversity_sql,
    diversity_summary,
    engine_error,
    evaluate_pairs,
    grouped_columns,
    grouped_dtypes,
    source_kind,
    source_name,
    summary_from,
    wildcard_cells,
)
from sdc.risk.frequencies import MissingRule

#: Text that stands for a missing value in CSV files, as :data:`sdc.io.MISSING_MARKERS`.
_CSV_MISSING = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "."]

ProgressCallback = Callable[[float], None]

_ROW = "__sdc_row"
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")
_NUMBER_TYPES = frozenset(
    "BOOLEAN TINYINT SMALLINT INTEGER BIGINT HUGEINT UTINYINT USMALLINT UINTEGER UBIGINT "
    "UHUGEINT FLOAT DOUBLE REAL DECIMAL VARCHAR".split()
)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _connect(
    memory_limit: str | None, temp_directory: str | None, threads: int | None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET preserve_insertion_order = true")
    if memory_limit is not None:
        con.execute(f"SET memory_limit = {_literal(memory_limit)}")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {_literal(temp_directory)}")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _run_with_progress(
    con: duckdb.DuckDBPyConnection, sql: str, progress: ProgressCallback | None
) -> None:
    """Execute ``sql``; while it runs, report DuckDB's progress (0..1) to ``progress``."""
    if progress is None:
        con.execute(sql)
        return
    errors: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        done = con.query_progress()
        if worker.is_alive() and done >= 0:
            progress(min(float(done) / 100.0, 1.0))
    if errors:
        raise errors[0]
    progress(1.0)


def _sniff_delimiter(path: Path) -> str:
    from sdc.io import sniff_delimiter

    with open(path, "rb") as handle:
        sample = handle.read(65536).decode("utf-8", errors="replace")
    return sniff_delimiter(sample)


def _csv_relation(path: Path, encoding: str) -> str:
    markers = ", ".join(_literal(m) for m in _CSV_MISSING)
    return (
        f"read_csv({_literal(str(path))}, header = true, "
        f"delim = {_literal(_sniff_delimiter(path))}, nullstr = [{markers}], "
        f"encoding = {_literal(encoding)})"
    )


def csv_to_parquet(
    csv: str | os.PathLike[str],
    parquet: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int | None = None,
) -> Path:
    """Convert a (large) CSV file to Parquet once, keeping the record order.

    Values are read as :func:`sdc.io.read_table` reads them: the delimiter is sniffed,
    an empty field and ``NA``, ``N/A``, ``NaN``, ``nan``, ``NULL``, ``null`` and ``.`` are
    missing, spaces after a delimiter are skipped, column names are stripped. The text is
    read as UTF-8, or as Latin-1 when it is not valid UTF-8.

    Args:
        csv: the CSV file.
        parquet: the Parquet file to write; it must not exist.
        progress: called from time to time with the fraction done (0.0 to 1.0).
        memory_limit: DuckDB memory limit, e.g. ``"4GB"``.
        temp_directory: where DuckDB may spill.
        threads: number of DuckDB threads.

    Returns:
        The path of the Parquet file.

    Raises:
        DataError: the CSV file is missing or unreadable, or the Parquet file exists.
    """
    src, dst = Path(csv), Path(parquet)
    if not src.is_file():
        raise DataError(f"{src}: no such file")
    if dst.exists():
        raise DataError(f"{dst}: already exists; choose a new name for the Parquet file")
    con = _connect(memory_limit, None if temp_directory is None else str(temp_directory), threads)
    try:
        last: Exception | None = None
        for encoding in ("utf-8", "latin-1"):
            relation = _csv_relation(src, encoding)
            try:
                columns = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
            except duckdb.Error as exc:
                last = exc
                continue
            select = ", ".join(_csv_column(str(c[0]), str(c[1])) for c in columns)
            sql = (
                f"COPY (SELECT {select} FROM {relation}) TO {_literal(str(dst))} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            try:
                _run_with_progress(con, sql, progress)
                return dst
            except duckdb.Error as exc:
                last = exc
                dst.unlink(missing_ok=True)
        raise DataError(f"{src.name}: not a readable CSV file ({str(last).splitlines()[0]})")
    finally:
        con.close()


def _csv_column(name: str, dtype: str) -> str:
    col = _ident(name)
    alias = _ident(name.strip())
    if dtype != "VARCHAR":
        return f"{col} AS {alias}"
    markers = ", ".join(_literal(m) for m in _CSV_MISSING)
    trimmed = f"ltrim({col}, ' ')"
    return f"CASE WHEN {trimmed} IN ({markers}) THEN NULL ELSE {trimmed} END AS {alias}"


class DuckDBEngine:
    """Counting engine on DuckDB (embedded, out-of-core).

    Args:
        memory_limit: DuckDB's ``memory_limit`` (e.g. ``"4GB"``); default: DuckDB's own
            (80% of the machine's memory).
        temp_directory: where DuckDB spills when memory runs short; default: a fresh
            temporary folder per call, removed afterwards.
        threads: number of threads; default: all cores.
    """

    name = "duckdb"

    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        temp_directory: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.memory_limit = memory_limit
        self.temp_directory = None if temp_directory is None else str(temp_directory)
        self.threads = threads

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _session(self, name: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
        """A connection and its spill folder, closed (and our own folder removed) when done.

        DuckDB's errors become one DataError that names the data.
        """
        own = self.temp_directory is None
        tmp = tempfile.mkdtemp(prefix="sdc-duckdb-") if own else str(self.temp_directory)
        con = _connect(self.memory_limit, tmp, self.threads)
        try:
            yield con, tmp
        except duckdb.Error as exc:
            raise engine_error(name, self.name, exc) from exc
        finally:
            con.close()
            if own:
                shutil.rmtree(tmp, ignore_errors=True)

    def _source(
        self,
        con: duckdb.DuckDBPyConnection,
        source: DataSource,
        tmp: str,
        wanted: Sequence[str | None],
    ) -> tuple[str, str, dict[str, tuple[str, str]]]:
        """Make ``source`` queryable.

        Returns:
            The relation SQL, the row-number expression, and for each wanted column its SQL
            name and DuckDB type. DataFrame columns are registered under positional names,
            since DuckDB identifiers ignore case and ``Age`` and ``age`` would collide.
        """
        kind = source_kind(source)
        name = source_name(source)
        need = list(dict.fromkeys(c for c in wanted if c is not None))
        if kind == "frame":
            assert isinstance(source, pd.DataFrame)
            check_columns([str(c) for c in source.columns], need, name)
            con.register("__sdc_frame", _frame_to_arrow(source, need))
            relation, row = "__sdc_frame", _ROW
            sql_names = {c: f"c{i}" for i, c in enumerate(need)}
        else:
            path = Path(source)  # type: ignore[arg-type]
            if kind == "csv":
                path = csv_to_parquet(
                    path, Path(tmp) / f"input-{time.monotonic_ns()}.parquet", threads=self.threads
                )
            relation = f"read_parquet({_literal(str(path))}, file_row_number = true)"
            row = "file_row_number"
            sql_names = {c: c for c in need}
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        except duckdb.Error as exc:
            raise DataError(
                f"{name}: not a readable Parquet file ({str(exc).splitlines()[0]})"
            ) from exc
        types = {str(c[0]): str(c[1]) for c in described}
        if kind != "frame":
            check_columns([c for c in types if c != "file_row_number"], need, name)
        return relation, row, {c: (_ident(sql_names[c]), types[sql_names[c]]) for c in need}

    # -- key frequencies ------------------------------------------------------------------

    def key_frequencies(
        self,
        source: DataSource,
        quasi: Sequence[str],
        weight: str | None = None,
        missing: MissingRule = "wildcard",
        *,
        k: int | None = None,
        risk: RiskFunction | None = None,
        household: str | None = None,
        out_path: str | os.PathLike[str] | None = None,
        per_record: bool = True,
    ) -> FrequencyResult:
        """Count every record's key in DuckDB; see :class:`~sdc.risk.engines.CountingEngine`.

        With ``out_path`` the per-record results are streamed to that Parquet file (which
        must not exist) in batches and never held in memory whole; otherwise they are
        returned as arrays.
        """
        quasi = list(quasi)
        check_request(quasi, missing, k, risk, household)
        if out_path is not None and Path(out_path).exists():
            raise DataError(f"{out_path}: already exists; choose a new name for the results")
        name = source_name(source)
        with self._session(name) as (con, tmp):
            relation, row, cols = self._source(con, source, tmp, [*quasi, weight, household])
            m = len(quasi)
            keys = [f"k{j}" for j in range(m)]
            select = [f"{row} AS __row"]
            select += [f"{_clean(*cols[q])} AS {kc}" for q, kc in zip(quasi, keys, strict=True)]
            if weight is not None:
                select.append(f"{_as_double(*cols[weight])} AS __w")
            if household is not None:
                select.append(f"{_nan_to_null(*cols[household])} AS __hh")
            con.execute(f"CREATE TEMP VIEW src AS SELECT {', '.join(select)} FROM {relation}")
            _check_rows(con, weight, name, not isinstance(source, pd.DataFrame))

            self._cells(con, keys, weighted=weight is not None, missing=missing)
            stats = con.execute(
                "SELECT count(*), coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE cf = 1), 0),"
                " coalesce(sum(n) FILTER (WHERE cf < 3), 0),"
                f" coalesce(sum(n) FILTER (WHERE cf < {int(k or 0)}), 0),"
                " coalesce(sum(n::DOUBLE / cf), 0) FROM freq"
            ).fetchone()
            assert stats is not None
            raw = con.execute(
                "SELECT cf, cw, sum(n)::BIGINT AS records FROM freq GROUP BY ALL ORDER BY ALL"
            ).fetchnumpy()
            pairs = pd.DataFrame(
                {
                    "f_k": np.asarray(raw["cf"], dtype=np.int64),
                    "F_k": np.asarray(raw["cw"], dtype=np.float64),
                    "records": np.asarray(raw["records"], dtype=np.int64),
                }
            )
            pairs = evaluate_pairs(pairs, risk)
            summary = summary_from(
                records=int(stats[1]),
                keys=int(stats[0]),
                sample_uniques=int(stats[2]),
                fk_below_3=int(stats[3]),
                k=k,
                fk_below_k=int(stats[4]),
                sum_inv_fk=float(stats[5]),
                pairs=pairs,
            )
            if out_path is None and not per_record and household is None:
                return FrequencyResult(self.name, summary, pairs)
            records_sql, names, households = self._records_sql(
                con, keys, pairs, risk is not None, household
            )
            if households is not None:
                hh = con.execute(households).fetchall()[0]
                summary = replace(
                    summary,
                    households=int(hh[0]),
                    household_risk_sum=float(hh[1] or 0.0),
                    household_risk_max=float(hh[2] or 0.0),
                )
            if out_path is None and not per_record:
                return FrequencyResult(self.name, summary, pairs)
            if out_path is not None:
                _stream_to_parquet(con, records_sql, names, Path(out_path))
                return FrequencyResult(self.name, summary, pairs, out_path=Path(out_path))
            got = con.execute(records_sql).fetchnumpy()
            arrays = dict(zip(names, got.values(), strict=True))
            return FrequencyResult(
                self.name,
                summary,
                pairs,
                fk=np.asarray(arrays["f_k"], dtype=np.int64),
                Fk=np.asarray(arrays["F_k"], dtype=np.float64),
                rk=None if risk is None else np.asarray(arrays["r_k"], dtype=np.float64),
                household_risk=(
                    None
                    if household is None
                    else np.asarray(arrays["household_risk"], dtype=np.float64)
                ),
            )

    def _cells(
        self,
        con: duckdb.DuckDBPyConnection,
        keys: list[str],
        *,
        weighted: bool,
        missing: MissingRule,
    ) -> None:
        """Create ``cells`` and ``cellfreq`` (cells with ``cf`` = f_k and ``cw`` = F_k).

        DuckDB identifiers ignore case, so ``f`` and ``F`` would be one column: internal
        names avoid case.
        """
        m = len(keys)
        if missing == "wildcard" and m:
            pat = " + ".join(
                f"(CASE WHEN {kc} IS NULL THEN 0 ELSE {1 << j} END)" for j, kc in enumerate(keys)
            )
        else:
            pat = str((1 << m) - 1)
        wsum = "sum(__w)" if weighted else "count(*)::DOUBLE"
        group = ", ".join(keys)
        inner = (
            f"SELECT {group + ', ' if m else ''}{pat} AS pat, count(*) AS n, {wsum} AS ws "
            f"FROM src GROUP BY {group if m else 'pat'}"
        )
        con.execute(f"CREATE TEMP TABLE cells0 AS {inner}")
        con.execute("CREATE TEMP TABLE cells AS SELECT rowid AS cell, * FROM cells0")
        con.execute("DROP TABLE cells0")
        patterns = con.execute("SELECT count(DISTINCT pat) FROM cells").fetchall()
        if int(patterns[0][0]) > 1:
            _wildcard_cells(con, keys)
            return
        # A key blank in every variable reveals nothing: it matches every record (as in
        # memory), rather than being a key of its own.
        blank = " AND ".join(f"{kc} IS NULL" for kc in keys) or "FALSE"
        cf = f"CASE WHEN {blank} THEN (SELECT sum(n) FROM cells) ELSE n END AS cf"
        cw = f"CASE WHEN {blank} THEN (SELECT sum(ws) FROM cells) ELSE ws END AS cw"
        con.execute(f"CREATE TEMP VIEW freq AS SELECT cell, n, {cf}, {cw} FROM cells")
        con.execute(f"CREATE TEMP VIEW cellfreq AS SELECT *, {cf}, {cw} FROM cells")

    def _records_sql(
        self,
        con: duckdb.DuckDBPyConnection,
        keys: list[str],
        pairs: pd.DataFrame,
        with_risk: bool,
        household: str | None,
    ) -> tuple[str, list[str], str | None]:
        """SQL for the per-record results in row order, their names, and household figures.

        With a household column the third item is SQL for one row: households, and the sum
        and largest household risk over the records; else None.

        The risk is joined to the cells (few) before the cells are joined to the records.
        """
        cells = "cellfreq"
        if with_risk:
            per_pair = pd.DataFrame(
                {"pf": pairs["f_k"], "pw": pairs["F_k"], "pr": pairs["r_k"]}, copy=False
            )
            con.register("__sdc_pairs", per_pair)
            con.execute(
                "CREATE TEMP TABLE cellrisk AS SELECT c.*, p.pr FROM cellfreq c "
                "JOIN __sdc_pairs p ON c.cf = p.pf AND c.cw = p.pw"
            )
            cells = "cellrisk"
        on = " AND ".join(f"s.{kc} IS NOT DISTINCT FROM c.{kc}" for kc in keys) or "TRUE"
        names = ["row", "f_k", "F_k"]
        extra = ""
        if with_risk:
            extra += ", c.pr"
            names.append("r_k")
        if household is not None:
            extra += ", s.__hh"
        recs = f"SELECT s.__row AS rw, c.cf, c.cw{extra} FROM src s JOIN {cells} c ON {on}"
        if household is None:
            return f"{recs} ORDER BY rw", names, None
        names.append("household_risk")
        joined = (
            f"WITH recs AS ({recs}), hh AS (SELECT __hh, 1 - product(1 - pr) AS hr FROM recs "
            "WHERE __hh IS NOT NULL GROUP BY __hh) SELECT {} FROM recs LEFT JOIN hh USING (__hh)"
        )
        hrisk = "coalesce(hh.hr, recs.pr)"
        sql = joined.format(f"rw, cf, cw, pr, {hrisk} AS hrisk") + " ORDER BY rw"
        figures = joined.format(
            "count(DISTINCT recs.__hh) + count(*) FILTER (WHERE recs.__hh IS NULL), "
            f"sum({hrisk}), max({hrisk})"
        )
        return sql, names, figures

    # -- l-diversity and group disclosure ----------------------------------------------------

    def attribute_disclosure(
        self,
        source: DataSource,
        quasi: Sequence[str],
        sensitive: Sequence[str],
        *,
        l: int | None = None,  # noqa: E741 - the measure is called l
        l_measure: LMeasure = "distinct",
        recursive_c: float = 2.0,
        group_share: float = 0.9,
    ) -> tuple[DiversitySummary, ...]:
        """l-diversity and group disclosure in DuckDB.

        See :class:`~sdc.risk.engines.CountingEngine`. One query per sensitive column; each
        returns one row of figures.
        """
        quasi, sensitive = list(quasi), list(sensitive)
        check_diversity_request(quasi, sensitive, l, l_measure, recursive_c, group_share)
        name = source_name(source)
        with self._session(name) as (con, tmp):
            relation, _, cols = self._source(con, source, tmp, [*quasi, *sensitive])
            keys = [f"k{j}" for j in range(len(quasi))]
            select = [f"{_clean(*cols[q])} AS {kc}" for q, kc in zip(quasi, keys, strict=True)]
            row = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
            assert row is not None
            check_rows(int(row[0]), 0, None, name, not isinstance(source, pd.DataFrame))
            out = []
            for var in sensitive:
                view = f"SELECT {', '.join(select)}, {_clean(*cols[var])} AS __v FROM {relation}"
                sql = diversity_sql(
                    f"({view})", keys, l=l, measure=l_measure, c=recursive_c, share=group_share
                )
                figures = con.execute(sql).fetchone()
                assert figures is not None
                summary = diversity_summary(var, figures, l, group_share)
                if summary is not None:
                    out.append(summary)
            return tuple(out)

    # -- grouped sums -----------------------------------------------------------------------

    def grouped_sums(
        self,
        source: DataSource,
        by: Sequence[str],
        value: str | None = None,
        weight: str | None = None,
        *,
        top: int = 0,
        value_detail: bool = False,
        clamp: tuple[float, float] | None = None,
        unit: str | None = None,
        contribution_bound: int = 1,
        clamp_step: float | None = None,
    ) -> pd.DataFrame:
        """Counts and sums per cell in DuckDB; see :class:`~sdc.risk.engines.CountingEngine`.

        The contribution bound is a window (``row_number()`` per unit in input order)
        evaluated before the group-by, so only per-cell aggregates leave DuckDB.
        """
        by = list(by)
        check_grouped_request(value, top, value_detail, clamp, contribution_bound, clamp_step)
        name = source_name(source)
        with self._session(name) as (con, tmp):
            relation, row, cols = self._source(con, source, tmp, [*by, value, weight, unit])
            w = None if weight is None else _as_double(*cols[weight])
            con.execute(f"CREATE TEMP VIEW src AS SELECT {w or 'NULL'} AS __w FROM {relation}")
            _check_rows(con, weight, name, not isinstance(source, pd.DataFrame))
            groups = [f"g{i}" for i in range(len(by))]
            inner = [f"{_clean(*cols[b])} AS {g}" for b, g in zip(by, groups, strict=True)]
            inner.append(f"{w or '1.0::DOUBLE'} AS __w")
            if value is not None:
                raw = f"CAST({_nan_to_null(*cols[value])} AS DOUBLE)"
                inner.append(f"(CASE WHEN isfinite({raw}) THEN {raw} END) AS __v")
            if unit is not None:
                inner.append(
                    f"row_number() OVER (PARTITION BY {_nan_to_null(*cols[unit])} "
                    f"ORDER BY {row}) AS __rk"
                )
            base = f"(SELECT {', '.join(inner)} FROM {relation})"
            v = "__v" if value is not None else None
            select = [*groups, "count(*)::BIGINT AS n"]
            select.append("coalesce(sum(__w), 0)::DOUBLE AS wn" if w else "count(*)::DOUBLE AS wn")
            if v is not None:
                select.append(f"sum({v}) AS s")
                select.append(f"sum({v} * __w) AS ws" if w else f"sum({v}) AS ws")
            if value_detail:
                select.append(f"count({v})::BIGINT AS vc")
                select.append(f"coalesce(sum(__w) FILTER (WHERE {v} IS NOT NULL), 0)::DOUBLE AS vw")
                select.append(f"min({v}) AS vmin")
            if top > 0:
                contribution = "__w" if v is None else (f"{v} * __w" if w else v)
                select.append(f"max({contribution}, {int(top)}) AS __top")
            if unit is not None or clamp is not None:
                keep = [
                    c
                    for c in (
                        f"__rk <= {int(contribution_bound)}" if unit else None,
                        f"{v} IS NOT NULL" if v else None,
                    )
                    if c
                ]
                where = " AND ".join(keep) or "TRUE"
                select.append(f"count(*) FILTER (WHERE {where})::BIGINT AS cc")
                if clamp is not None:
                    lo, hi = (repr(float(b)) for b in clamp)
                    clipped = f"least(greatest({v}, {lo}::DOUBLE), {hi}::DOUBLE)"
                    select.append(f"coalesce(sum({clipped}) FILTER (WHERE {where}), 0.0) AS cs")
                    if clamp_step is not None:
                        step = repr(float(clamp_step))
                        units = f"floor({clipped} / {step}::DOUBLE + 0.5)::BIGINT"
                        select.append(
                            f"coalesce(sum({units}) FILTER (WHERE {where}), 0)::BIGINT AS cu"
                        )
            sql = f"SELECT {', '.join(select)} FROM {base}"
            if by:
                order = ", ".join(f"{g} ASC NULLS LAST" for g in groups)
                sql += f" GROUP BY {', '.join(groups)} ORDER BY {order}"
            if top > 0:
                outer: list[str] = []
                for item in select:
                    alias = item.rsplit(" AS ", 1)[-1]
                    if alias != "__top":
                        outer.append(alias)
                        continue
                    outer += [f"list_extract(__top, {i})::DOUBLE" for i in range(1, top + 1)]
                sql = f"SELECT {', '.join(outer)} FROM ({sql})"
            out = con.execute(sql).df()
        out.columns = pd.Index(
            grouped_columns(by, value, top, value_detail, clamp, unit, clamp_step)
        )
        return grouped_dtypes(out, len(by))


def _wildcard_cells(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    """``freq`` and ``cellfreq`` under the wildcard rule, from the distinct keys in memory.

    The records are already aggregated to their distinct keys (``cells``), which are
    matched in memory by :func:`~sdc.risk.engines.base.wildcard_cells`; the per-key results
    go back to DuckDB for the streaming join on the records.
    """
    # Through execute(): con.sql() here leaves the connection's earlier result unfinished
    # and the next execute() fails under duckdb 2. Its warning about an extra copy of the
    # rows does not matter for this small table of distinct keys.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        query = f"SELECT cell, {', '.join(keys)}, n, ws FROM cells"
        table = con.execute(query).to_arrow_table()
    assert table is not None, "a SELECT always has a result"
    result = wildcard_cells(table, keys)
    del table
    con.register("__sdc_wildcard", result)
    con.execute(
        "CREATE TEMP TABLE freq AS SELECT c.cell, c.n, x.cf, x.cw FROM cells c "
        "JOIN __sdc_wildcard x USING (cell)"
    )
    con.unregister("__sdc_wildcard")
    con.execute(
        "CREATE TEMP VIEW cellfreq AS SELECT c.*, f.cf, f.cw FROM cells c JOIN freq f USING (cell)"
    )


def _stream_to_parquet(
    con: duckdb.DuckDBPyConnection, sql: str, names: list[str], path: Path
) -> None:
    """Write a query's result to Parquet batch by batch, under the given column names.

    DuckDB's own ``COPY`` cannot write both ``f_k`` and ``F_k`` (identifiers ignore case),
    so the batches are renamed on their way to pyarrow's writer; memory stays bounded.
    """
    reader = con.sql(sql).to_arrow_reader(1_000_000)
    assert reader is not None
    schema = pa.schema([pa.field(n, t) for n, t in zip(names, reader.schema.types, strict=True)])
    tmp = path.with_name(path.name + ".partial")
    try:
        with pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
        tmp.replace(path)
    except OSError as exc:
        reason = exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{path}: cannot write ({reason})") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _frame_to_arrow(frame: pd.DataFrame, columns: list[str]) -> pa.Table:
    """The wanted columns as an Arrow table (``c0``, ``c1``...) plus a row-number column."""
    arrays = []
    for col in columns:
        try:
            arrays.append(pa.array(frame[col], from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(
                f"column {col!r} mixes values that cannot be compared (such as numbers and "
                "text); convert it to text first"
            ) from exc
    arrays.append(pa.array(np.arange(len(frame), dtype=np.int64)))
    return pa.table(arrays, names=[f"c{i}" for i in range(len(columns))] + [_ROW])


def _clean(expr: str, dtype: str) -> str:
    """A key column with every kind of missing value (NULL, NaN, empty text) as NULL."""
    if dtype == "VARCHAR":
        return f"NULLIF({expr}, '')"
    return _nan_to_null(expr, dtype)


def _nan_to_null(expr: str, dtype: str) -> str:
    if dtype in _FLOAT_TYPES:
        return f"(CASE WHEN isnan({expr}) THEN NULL ELSE {expr} END)"
    return expr


def _as_double(expr: str, dtype: str) -> str:
    """A weight or value column as DOUBLE; NULL where it is not a number.

    Text goes through ``TRY_CAST``; types DuckDB cannot cast to a number at all (dates,
    lists...) through their text, so they give NULL rather than a binder error.
    """
    if dtype.split("(")[0] in _NUMBER_TYPES:
        return f"TRY_CAST({expr} AS DOUBLE)"
    return f"TRY_CAST(CAST({expr} AS VARCHAR) AS DOUBLE)"


def _check_rows(con: duckdb.DuckDBPyConnection, weight: str | None, name: str, file: bool) -> None:
    """Count the records and the unusable weights in one query; refuse either problem."""
    bad = "count(*) FILTER (WHERE __w IS NULL OR isnan(__w) OR isinf(__w) OR __w <= 0)"
    row = con.execute(f"SELECT count(*), {bad if weight is not None else 0} FROM src").fetchone()
    assert row is not None
    check_rows(int(row[0]), int(row[1]), weight, name, file)
