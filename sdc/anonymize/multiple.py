"""Multiple-choice (select_multiple) questions as one set-valued variable.

KoboToolbox and ODK export a select_multiple question as a text column of the chosen
option codes plus one 0/1 column per option. Counted as separate quasi-identifiers, the
option columns multiply the key space (a 7-option question becomes 8 variables); an intruder
who knows someone's answers knows them as one set. So the policy names the option columns
under the question (``multiple: {options: [...]}``) and everything works on the set:

- :func:`canonical_sets` rewrites the question's column as the canonical set of chosen codes
  (in the policy's option order, joined by single spaces; ``(none)`` when the respondent chose
  none; blank when the question was not answered), read from the option columns: one
  categorical value, which risk and local suppression treat as one quasi-identifier;
- :func:`recode_sets` applies the set recodes: ``count`` (the number of options chosen),
  ``any_of`` (groups of options, each shown as its group's name when any member is chosen)
  and ``rare_to_other`` (options chosen by fewer than N records merged into ``other``);
- :func:`derive_options` rewrites the option columns from the treated set after treatment, so
  that they can never disagree with it: a suppressed set blanks all its option columns, and
  an option merged into a group or into ``other`` (or every option, under ``count``) loses its
  column, since the set column says all there is.

Nothing here loops over records: each option is one vectorised column operation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.errors import DataError
from sdc.policy import Policy

__all__ = [
    "EMPTY_SET",
    "OTHER",
    "canonical_sets",
    "chosen_matrix",
    "derive_options",
    "kept_options",
    "recode_sets",
    "set_tokens",
]

#: The value of a set with no option chosen (a blank means the question was not answered).
EMPTY_SET = "(none)"
#: The code rare options are merged into by ``rare_to_other``.
OTHER = "other"

_YES = frozenset({"1", "1.0", "true", "yes", "oui", "si", "sí", "sim"})
_NO = frozenset({"0", "0.0", "false", "no", "non", "nao", "não"})


def _truth(column: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(chosen, answered) of one 0/1 option column; anything else is refused."""
    if pd.api.types.is_bool_dtype(column.dtype):
        answered = column.notna().to_numpy()
        return column.fillna(False).to_numpy(dtype=bool), answered
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        answered = ~np.isnan(values)
        bad = answered & (values != 0) & (values != 1)
        chosen = values == 1
    else:
        text = column.astype("string").str.strip().str.lower()
        blank = text.isna() | text.eq("")
        answered = ~blank.to_numpy(dtype=bool)
        chosen = text.isin(_YES).fillna(False).to_numpy(dtype=bool)
        bad = answered & ~chosen & ~text.isin(_NO).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        raise DataError(
            f"option column {name!r} holds {int(bad.sum())} value(s) other than 0 and 1; "
            "a select_multiple option column holds 1 (chosen), 0 (not chosen) or a blank"
        )
    return chosen, answered


def chosen_matrix(frame: pd.DataFrame, options: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """The (records, options) matrix of chosen options, and which records answered at all."""
    n = len(frame)
    chosen = np.zeros((n, len(options)), dtype=bool)
    answered = np.zeros(n, dtype=bool)
    for j, column in enumerate(options.values()):
        picked, seen = _truth(frame[column], column)
        chosen[:, j] = picked
        answered |= seen
    return chosen, answered


def _joined(chosen: np.ndarray, answered: np.ndarray, codes: Sequence[str]) -> pd.Series:
    """Each record's chosen codes joined by spaces; ``(none)`` if none; NaN if unanswered."""
    n = chosen.shape[0]
    text = pd.Series([""] * n, dtype=object)
    for j, code in enumerate(codes):
        text = text.where(~chosen[:, j], text + " " + code)
    text = text.str.strip()
    text = text.where(text != "", EMPTY_SET)
    return text.where(answered, np.nan)


def canonical_sets(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Each multiple-choice question's column as the canonical set of its chosen codes.

    A question is rewritten only when its column and all its option columns are present
    (a released file may have dropped merged options: its set column is canonical already).
    Returns the frame itself when no question applies.
    """
    out = frame
    for question in policy.multiple_choice:
        options = policy.options(question)
        if question not in frame.columns or not set(options.values()) <= set(frame.columns):
            continue
        chosen, answered = chosen_matrix(frame, options)
        if out is frame:
            out = frame.copy()
        out[question] = _joined(chosen, answered, list(options)).to_numpy()
    return out


def _targets(policy: Policy, question: str, chosen: np.ndarray) -> dict[str, str]:
    """Where each option code goes under the question's any_of and rare_to_other."""
    recode = policy.columns[question].recode
    assert recode is not None
    codes = list(policy.options(question))
    groups = {code: group for group, members in (recode.any_of or {}).items() for code in members}
    target = {code: groups.get(code, code) for code in codes}
    if recode.rare_to_other is not None:
        names = list(dict.fromkeys(target.values()))
        picked = {
            name: int(chosen[:, [target[c] == name for c in codes]].any(axis=1).sum())
            for name in names
        }
        rare = {name for name, count in picked.items() if count < recode.rare_to_other}
        target = {code: OTHER if t in rare else t for code, t in target.items()}
    return target


def recode_sets(frame: pd.DataFrame, policy: Policy) -> tuple[pd.DataFrame, list[Treatment]]:
    """Apply the set recodes (count, any_of, rare_to_other) of every multiple-choice question.

    Read from the option columns; the question's column gets the recoded set (or the count).
    The treatment record lists the values the question can now take (``values``) and what
    was merged (``merged``), which ``sdc check`` verifies the released columns against.
    """
    done: list[Treatment] = []
    for question in policy.multiple_choice:
        col = policy.columns[question]
        if col.recode is None or col.role in ("direct", "drop") or question not in frame.columns:
            continue
        options = policy.options(question)
        chosen, answered = chosen_matrix(frame, options)
        frame = frame.copy()
        before = frame[question]
        if col.recode.count:
            counts = pd.Series(chosen.sum(axis=1), dtype=object)
            frame[question] = counts.where(answered, None).to_numpy()
            details: dict[str, object] = {"values": list(range(len(options) + 1))}
            parameters: dict[str, object] = {"count": True}
        else:
            target = _targets(policy, question, chosen)
            names = list(dict.fromkeys(target.values()))
            merged = np.stack(
                [chosen[:, [target[c] == name for c in options]].any(axis=1) for name in names],
                axis=1,
            )
            frame[question] = _joined(merged, answered, names).to_numpy()
            details = {
                "values": names,
                "merged": {n: [c for c in options if target[c] == n and c != n] for n in names},
            }
            parameters = {
                "any_of": {g: list(m) for g, m in (col.recode.any_of or {}).items()},
                "rare_to_other": col.recode.rare_to_other,
            }
        changed = int((before.astype(str) != frame[question].astype(str)).sum())
        done.append(
            Treatment(
                name="recode.multiple",
                columns=(question,),
                parameters=parameters,
                changed={question: changed},
                details=details,
            )
        )
    return frame, done


def set_tokens(values: pd.Series) -> pd.Series:
    """Each set value padded with spaces (`` a b ``), for whole-code membership tests."""
    text = values.astype("string")
    return (" " + text.where(text != EMPTY_SET, "") + " ").astype(object)


def kept_options(policy: Policy, question: str, values: Sequence[object] | None) -> dict[str, str]:
    """The option columns released for a question: codes that are still values of the set.

    Under ``count`` none; under ``any_of`` or ``rare_to_other`` the codes not merged (the
    recode's ``values``, when known); otherwise every option.
    """
    options = policy.options(question)
    recode = policy.columns[question].recode
    if recode is None:
        return options
    if recode.count:
        return {}
    grouped = {c for group, members in (recode.any_of or {}).items() for c in members if c != group}
    kept = {code: column for code, column in options.items() if code not in grouped}
    if values is not None:
        kept = {code: column for code, column in kept.items() if code in set(map(str, values))}
    return kept


def derive_options(
    frame: pd.DataFrame, policy: Policy, values: dict[str, list[object]] | None = None
) -> tuple[pd.DataFrame, list[Treatment]]:
    """Rewrite each question's option columns from its treated set column.

    An option column is 1 where its code is in the set, 0 where the set holds other codes or
    none, blank where the set is blank (unanswered or suppressed). Columns of options merged
    away by the recode are dropped.

    Args:
        frame: the treated records, the question's column holding the canonical set.
        policy: the policy.
        values: per question, the values its recode produced (from :func:`recode_sets`).
    """
    done: list[Treatment] = []
    for question in policy.multiple_choice:
        if policy.columns[question].role in ("direct", "drop") or question not in frame.columns:
            continue
        options = policy.options(question)
        kept = kept_options(policy, question, (values or {}).get(question))
        padded = set_tokens(frame[question])
        blank = frame[question].isna().to_numpy()
        frame = frame.copy()
        for code, column in kept.items():
            has = padded.str.contains(f" {code} ", regex=False).to_numpy(dtype=bool)
            derived = pd.Series(np.where(has, 1, 0), dtype=object).where(~blank, None)
            frame[column] = derived.to_numpy()
        gone = [c for c in options.values() if c not in kept.values() and c in frame.columns]
        frame = frame.drop(columns=gone)
        done.append(
            Treatment(
                name="multiple.options",
                columns=(question, *options.values()),
                parameters={"options": dict(options)},
                details={"kept": list(kept.values()), "dropped": gone},
            )
        )
    return frame, done
