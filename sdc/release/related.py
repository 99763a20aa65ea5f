"""Related tables (repeat groups) released in the same bundle as the main records.

A Kobo or ODK survey with a repeat group (household members, incidents) exports the
main records and one table per repeat group, linked by a key: Kobo's ``_parent_index`` to
the main ``_index``, ODK's ``PARENT_KEY`` to the main ``KEY``. A policy names such tables
under ``related:`` (:class:`sdc.policy.Related`), and a release then

- replaces the main key and each related table's link column by the same per-release keyed
  pseudonym (HMAC-SHA256 under the release's own key, kept by the steward beside the
  bundle): the files join to each other and to nothing else, and never show a raw key;
- treats each related table by its own column roles (identifiers dropped or pseudonymised,
  recodes), then suppresses values until the joined view meets the policy's thresholds
  (:mod:`sdc.anonymize.joined`, :mod:`sdc.risk.joined`);
- writes every file with its records in a random order (by unseeded secret randomness), so
  the order of one file says nothing about the order of the input or of another file.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.anonymize.joined import suppress_joined
from sdc.anonymize.policy_recodes import deterministic_recodes
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.io import ReadOptions, Table, read_table
from sdc.policy import Policy
from sdc.release.microdata import TreatedMicrodata, remove_identifiers
from sdc.risk.frequencies import all_blank, encode_keys
from sdc.risk.joined import JoinedView, RelatedRecords, joined_view, parent_positions


@dataclass(frozen=True)
class TreatedRelated:
    """One related table after treatment, in input order.

    Attributes:
        name: its name (the files ``NAME.csv`` and ``NAME.parquet``).
        frame: its records, link column holding the parents' pseudonyms.
        treatments: what was done to it, in order.
        suppressed_values: values blanked on the joined view, per column.
    """

    name: str
    frame: pd.DataFrame
    treatments: tuple[Treatment, ...]
    suppressed_values: dict[str, int]


@dataclass(frozen=True)
class RelatedRelease:
    """The related tables of a release and the joined view they make with the main records.

    Attributes:
        tables: every related table, treated.
        view: the joined view of the released records.
        suppressed_households: parents that lost a value (theirs or a related record's)
            or reveal no key in the joined view.
        inputs: the related inputs, as read.
    """

    tables: tuple[TreatedRelated, ...]
    view: JoinedView
    suppressed_households: int
    inputs: tuple[Table, ...]

    @property
    def suppression_share(self) -> float:
        """Share of the parents counted as suppressed in the joined view."""
        n = self.view.households
        return self.suppressed_households / n if n else 0.0


def related_options(policy: Policy, index: int, reading: ReadOptions | None) -> ReadOptions:
    """How to read ``related[index]``: the main reading options with its own sheet."""
    options = (reading or ReadOptions()).over(policy.data.reading())
    return replace(options, sheet=policy.related[index].sheet)


def read_related(
    policy: Policy, main: Table, reading: ReadOptions | None = None
) -> tuple[Table, ...]:
    """Read every related table of the policy.

    A table's ``data`` is a file beside the policy; with ``sheet`` alone, a sheet of
    ``main``'s workbook.

    Raises:
        PolicyError: a table names only a sheet but the main input is no workbook.
        DataError: a file or sheet cannot be read.
    """
    tables = []
    for i, related in enumerate(policy.related):
        if related.data is None and main.format != "xlsx":
            raise PolicyError(
                f"{policy.where('related', str(i), 'sheet')}: related.{i} names only a sheet "
                f"({related.sheet!r}) but {main.path.name} is not a workbook; give data: FILE"
            )
        path = policy.related_path(i, main.path)
        try:
            table = read_table(path, options=related_options(policy, i, reading))
        except DataError as exc:
            raise DataError(
                f"{policy.where('related', str(i))}: related.{i} ({related.name}) cannot be "
                f"read: {exc}"
            ) from exc
        tables.append(table)
    return tuple(tables)


def related_label(policy: Policy, index: int, table: Table) -> str:
    """How messages name a related table: ``members (sheet 'members' of survey.xlsx)``."""
    related = policy.related[index]
    sheet = f"sheet {related.sheet!r} of " if related.sheet else ""
    return f"{related.name} ({sheet}{table.path.name})"


def check_links(policy: Policy, main: Table, related: tuple[Table, ...]) -> None:
    """Refuse links that cannot be released: a key that is not one, a link without a parent.

    Raises:
        PolicyError: the link column is not a column of its table.
        DataError: the main key has blank or repeated values, or a related record's link
            is blank or names no main record.
    """
    for i, (spec, table) in enumerate(zip(policy.related, related, strict=True)):
        label = related_label(policy, i, table)
        key, column = spec.link.to, spec.link.column
        check_link_column(policy, i, table)
        keys = main.frame[key]
        blank = int(keys.isna().sum())
        if blank:
            raise DataError(
                f"{main.path.name}: {blank} record(s) have no {key} (the key related.{i} "
                f"links to); every main record needs its own {key}"
            )
        repeated = int(keys.duplicated().sum())
        if repeated:
            raise DataError(
                f"{main.path.name}: {key} (the key related.{i} links to) repeats "
                f"{repeated} value(s); it must name one record each: is it the right column?"
            )
        where = parent_positions(keys, table.frame[column])
        orphans = int((where < 0).sum())
        if orphans:
            raise DataError(
                f"{label}: {orphans} of {len(where)} record(s) have a {column} that no record "
                f"of {main.path.name} has as {key}; remove them or export the main records "
                "and the repeat group together"
            )


def check_link_column(policy: Policy, index: int, table: Table) -> None:
    """Refuse a link column that is not a column of its related table.

    Raises:
        PolicyError: naming the policy line and the closest column.
    """
    column = policy.related[index].link.column
    if column not in table.frame.columns:
        raise PolicyError(
            f"{policy.where('related', str(index), 'link', 'column')}: "
            f"related.{index}.link.column {column!r} is not a column of "
            f"{related_label(policy, index, table)}" + _did_you_mean(column, table.frame.columns)
        )


def _did_you_mean(name: str, columns: pd.Index) -> str:
    import difflib

    available = [str(c) for c in columns]
    same = [c for c in available if c.casefold() == name.casefold()]
    hint = same or difflib.get_close_matches(name, available, n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def treat_related(
    policy: Policy,
    main: Table,
    treated: TreatedMicrodata,
    related: tuple[Table, ...],
    *,
    pseudonym_key: bytes | None,
    key_file: Path | None = None,
) -> tuple[TreatedMicrodata, RelatedRelease]:
    """Treat the related tables and suppress on the joined view; refuse past the limits.

    Args:
        policy: the main policy.
        main: the main input (its raw keys find each related record's parent).
        treated: the main records treated (input order, keys pseudonymised).
        related: the related inputs, in ``policy.related`` order.
        pseudonym_key: the release's key (the one the main keys were pseudonymised with).
        key_file: the linkable pseudonyms' key file, for related ``linkable: true`` columns.

    Returns:
        The main records after the joined suppression and the related release.

    Raises:
        PolicyNotMet: the joined view needs more suppression than ``max_suppression``.
    """
    records, done = [], []
    for i, (spec, table) in enumerate(zip(policy.related, related, strict=True)):
        sub = policy.related_policy(i)
        where = parent_positions(main.frame[spec.link.to], table.frame[spec.link.column])
        body = table.frame.drop(columns=[spec.link.column])
        body, steps = remove_identifiers(body, sub, key_file=key_file, pseudonym_key=pseudonym_key)
        body, recodes = deterministic_recodes(body, sub)
        done.append(tuple(steps + recodes))
        records.append(RelatedRecords(body.reset_index(drop=True), tuple(sub.quasi), where))
    names = [r.name for r in policy.related]
    result = suppress_joined(
        treated.frame,
        policy.quasi,
        records,
        names,
        policy.thresholds.k,
        missing=policy.missing,
        max_risk=policy.thresholds.max_individual_risk,
    )
    main_after = _with_joined(treated, main.frame, result.parent, policy)
    households = int(
        (
            result.households
            | result.view.suppressed
            | _lost(main.frame, result.parent, policy.quasi)
        ).sum()
    )
    tables = []
    for i, (spec, table) in enumerate(zip(policy.related, related, strict=True)):
        frame = _with_link(result.related[i], table, spec.link.column, treated.frame[spec.link.to])
        blanked = {
            k.split(".", 1)[1]: v for k, v in result.values.items() if k.startswith(f"{spec.name}.")
        }
        tables.append(TreatedRelated(spec.name, frame, done[i], blanked))
    release = RelatedRelease(tuple(tables), result.view, households, related)
    _check_limits(release, main_after, policy)
    return main_after, release


def joined_view_of(
    policy: Policy, main: Table, frame: pd.DataFrame, related: tuple[Table, ...]
) -> JoinedView:
    """The joined view of the inputs after the policy's deterministic recodes.

    What ``sdc risk`` reports before any suppression: ``frame`` is the main records after
    their recodes, the related records are recoded by their own ``columns``.
    """
    records = []
    for i, (spec, table) in enumerate(zip(policy.related, related, strict=True)):
        sub = policy.related_policy(i)
        where = parent_positions(main.frame[spec.link.to], table.frame[spec.link.column])
        body, _ = deterministic_recodes(table.frame, sub)
        records.append(RelatedRecords(body, tuple(sub.quasi), where))
    return joined_view(frame, policy.quasi, records)


def joined_note(policy: Policy, view: JoinedView) -> str:
    """The joined view in one sentence, for ``sdc risk``."""
    k = policy.thresholds.k
    below = int(view.below(k).sum())
    unique = int(((view.counts == 1) & ~view.suppressed).sum())
    n = view.households
    names = ", ".join(r.name for r in policy.related)
    share = below / n if n else 0.0
    return (
        f"joined with {names} (as anyone can join the released files), {below} of {n} "
        f"households ({share:.1%}) have a joined key shared by fewer than k = {k} households "
        f"and {unique} are unique (their own quasi-identifiers and their related records'); "
        "a release blanks the related records' quasi-identifiers of these households first, "
        "within thresholds.max_suppression"
    )


def _with_link(records: RelatedRecords, table: Table, column: str, keys: pd.Series) -> pd.DataFrame:
    """The related records with their link column back in place, as the parents' pseudonyms."""
    frame = records.frame.copy()
    link = keys.reset_index(drop=True).to_numpy()[records.parent]
    position = min(list(table.frame.columns).index(column), len(frame.columns))
    frame.insert(position, column, pd.Series(link, dtype="str"))
    return frame


def _lost(before: pd.DataFrame, after: pd.DataFrame, quasi: list[str]) -> np.ndarray:
    """Records with a quasi-identifier value present before and blank after."""
    if not quasi:
        return np.zeros(len(before), dtype=bool)
    was = before[quasi].notna().to_numpy()
    now = after[quasi].isna().to_numpy()
    return np.asarray((was & now).any(axis=1))


def _with_joined(
    treated: TreatedMicrodata, original: pd.DataFrame, frame: pd.DataFrame, policy: Policy
) -> TreatedMicrodata:
    """The main records' treatment with the joined suppression's blanks counted in."""
    quasi = policy.quasi
    was = original[quasi].notna().to_numpy()
    now = frame[quasi].isna().to_numpy()
    lost = was & now
    blank = all_blank(encode_keys(frame, quasi, "wildcard"))
    return replace(
        treated,
        frame=frame,
        suppressed_records=int((lost.any(axis=1) | blank).sum()),
        suppressed_values={q: int(lost[:, i].sum()) for i, q in enumerate(quasi)},
    )


def _check_limits(release: RelatedRelease, main: TreatedMicrodata, policy: Policy) -> None:
    """Refuse when the joined view needs more suppression than the policy allows."""
    limit = policy.thresholds.max_suppression
    names = ", ".join(t.name for t in release.tables)
    k = policy.thresholds.k
    below = int(release.view.below(k).sum())
    if below:
        raise PolicyNotMet(
            f"joined with {names}, {below} households stay below k = {k} with every "
            "quasi-identifier blank: their number of related records alone sets them apart; "
            "give the related tables a quasi-identifier to suppress or lower k"
        )
    share = release.suppression_share
    if share > limit + 1e-12 or main.suppression_share > limit + 1e-12:
        raise PolicyNotMet(
            f"joined with {names}, k = {policy.thresholds.k} needs "
            f"{release.suppressed_households} of {release.view.households} households "
            f"({share:.1%}) with a suppressed value (theirs or a related record's), above "
            f"max_suppression {limit:.1%}; recode the related tables' quasi-identifiers more "
            "coarsely (recode: bands or map), give them fewer quasi-identifiers, or raise "
            "thresholds.max_suppression"
        )
    total = policy.thresholds.max_expected_reidentifications
    if total is not None and release.view.expected_reidentifications > total + 1e-9:
        raise PolicyNotMet(
            f"joined with {names}, {release.view.expected_reidentifications:.2f} households "
            f"are expected to be re-identified (household risk over the members), above "
            f"max_expected_reidentifications {total:g}; recode the quasi-identifiers more "
            "coarsely or raise the limit"
        )


def shuffled(frame: pd.DataFrame, hidden: Collection[str] = ()) -> pd.DataFrame:
    """The records in a random order drawn from unseeded secret randomness.

    The input's order could link the records to other files (row N of one file is row N of
    another); no seed reproduces the order, so nobody can undo it. In a small file with
    repeated records a random order can show the same sequence as the input (4 records in
    two equal pairs: 1 in 6); such an order is drawn again, comparing the columns other than
    ``hidden`` (pseudonyms and links, which show no place), with a blank matching anything,
    as ``sdc check --data`` reads them.
    """
    rng = np.random.default_rng()
    shown = frame[[c for c in frame.columns if c not in hidden]]
    order = rng.permutation(len(frame))
    distinct: list[bool] = []
    for _ in range(100):
        if not _same_sequence(shown, order):
            break
        if not distinct:
            distinct.append(len(shown.drop_duplicates()) > 1)
        if not distinct[0]:
            break
        order = rng.permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def _same_sequence(shown: pd.DataFrame, order: np.ndarray) -> bool:
    """Whether records in ``order`` show the same values as in the frame's own order.

    Values are compared as text, a blank matching anything; column by column, so that a
    wide file usually stops at its first column.
    """
    for i in range(shown.shape[1]):
        values = shown.iloc[:, i]
        text = values.astype(str).to_numpy()
        blank = values.isna().to_numpy()
        if not ((text[order] == text) | blank[order]).all():
            return False
    return True
