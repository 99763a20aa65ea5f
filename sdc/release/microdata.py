"""Treat microdata as a policy says: identifiers, recoding, PRAM, noise, suppression.

The order is fixed by the policy's ``outputs.microdata.treatments`` list (default
``[recode, suppress]``); direct identifiers are always handled first, because nothing else
should ever see them, and local suppression (or the optimal generalisation search) comes
where the policy puts it so that it works on the recoded values.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import SuppressionRecord, Treatment
from sdc.anonymize.identifiers import drop_columns, new_pseudonym_key, pseudonymize
from sdc.anonymize.microaggregation import microaggregate
from sdc.anonymize.multiple import canonical_sets, derive_options
from sdc.anonymize.mv_top_code import mv_top_code
from sdc.anonymize.noise import add_noise
from sdc.anonymize.policy_recodes import deterministic_recodes
from sdc.anonymize.pram import pram
from sdc.anonymize.record_swap import record_swap
from sdc.anonymize.search import GeneralizationResult, optimal_generalization
from sdc.anonymize.shuffle import shuffle
from sdc.anonymize.suppress import DiversityLimits, local_suppression, must_lose_a_value
from sdc.anonymize.swap import rank_swap
from sdc.errors import PolicyError, PolicyNotMet
from sdc.policy import Policy, unlisted_columns
from sdc.risk.assess import RiskThresholds, risk_levels
from sdc.risk.frequencies import all_blank, encode_keys


@dataclass(frozen=True)
class TreatedMicrodata:
    """Microdata after treatment, and what was done to it.

    Attributes:
        frame: the treated records, in input order, identifiers removed.
        treatments: every treatment in the order applied (for the manifest).
        suppressed_records: records that lost at least one quasi-identifier value, or whose
            quasi-identifiers are all blank (they reveal no key).
        suppressed_values: quasi-identifier values suppressed, per variable.
        generalization: the optimal-search result when ``generalize: auto`` was used.
        seed: the seed of PRAM and noise (kept out of the bundle).
    """

    frame: pd.DataFrame
    treatments: tuple[Treatment, ...]
    suppressed_records: int
    suppressed_values: dict[str, int]
    generalization: GeneralizationResult | None
    seed: int | None
    distinct_before: dict[str, int]

    @property
    def suppression_share(self) -> float:
        """Share of records that lost a quasi-identifier value."""
        return self.suppressed_records / len(self.frame) if len(self.frame) else 0.0


def pseudonym_columns(policy: Policy) -> tuple[list[str], list[str]]:
    """The columns pseudonymised with a per-release key, and those with the linkable key."""
    keyed = [
        (n, c.linkable)
        for n, c in policy.columns.items()
        if c.role == "direct" and c.action == "pseudonymize"
    ]
    return [n for n, linked in keyed if not linked], [n for n, linked in keyed if linked]


def remove_identifiers(
    frame: pd.DataFrame,
    policy: Policy,
    *,
    key_file: Path | None = None,
    pseudonym_key: bytes | None = None,
) -> tuple[pd.DataFrame, list[Treatment]]:
    """Drop direct identifiers and ``drop`` columns; pseudonymise those that ask for it.

    Pseudonyms use the release's own key (``pseudonym_key``; a fresh one that nobody keeps
    when None) unless the column says ``linkable: true``: then the steward's key from
    ``key_file`` or ``SDC_PSEUDONYM_KEY``, the same in every release. The household column
    and the keys related tables link to (:attr:`Policy.link_columns`) always get the
    release's own key: they join the release's files to each other and to nothing else.

    With ``unlisted: drop`` the columns the policy does not name are dropped too (recorded
    as a ``drop`` treatment with role ``unlisted``): tables and synthetic data use only
    columns the policy names, so this keeps them out of every output.
    """
    done: list[Treatment] = []
    per_release, linked = pseudonym_columns(policy)
    keyed = per_release + linked
    direct = [n for n, c in policy.columns.items() if c.role == "direct" and n not in keyed]
    dropped = policy.columns_with("drop")
    for question in policy.multiple_choice:  # a removed question takes its options along
        if policy.columns[question].role in ("direct", "drop"):
            dropped += [c for c in policy.options(question).values() if c in frame.columns]
    links = [c for c in policy.link_columns if c in frame.columns]
    if (per_release or links) and pseudonym_key is None:
        pseudonym_key = new_pseudonym_key()  # one key, so links agree across the files
    if per_release:
        frame, record = pseudonymize(frame, per_release, key=pseudonym_key, linkable=False)
        done.append(record)
    if links:
        # Household and link keys: joinable within this release only, never raw.
        frame, record = pseudonymize(frame, links, key=pseudonym_key, linkable=False)
        done.append(replace(record, parameters={**record.parameters, "link": True}))
    if linked:
        frame, record = pseudonymize(frame, linked, key_file=key_file)
        done.append(record)
    if direct:
        frame, record = drop_columns(frame, direct, reason="direct")
        done.append(record)
    if dropped:
        frame, record = drop_columns(frame, dropped, reason="drop")
        done.append(record)
    unlisted = unlisted_columns(policy, frame.columns) if policy.unlisted == "drop" else []
    if unlisted:
        frame, record = drop_columns(frame, unlisted, reason="unlisted")
        done.append(record)
    return frame, done


def treat_microdata(
    frame: pd.DataFrame,
    policy: Policy,
    *,
    seed: int | None = None,
    key_file: Path | None = None,
    pseudonym_key: bytes | None = None,
    meter: Meter | None = None,
) -> TreatedMicrodata:
    """Apply the policy's microdata treatments and check the suppression limit.

    ``key_file`` and ``pseudonym_key`` are the pseudonym keys (see :func:`remove_identifiers`);
    ``meter`` is told ``(step, done, total)`` during local suppression and the search.

    Raises:
        PolicyNotMet: k cannot be reached within ``thresholds.max_suppression``.
    """
    spec = policy.outputs.microdata
    assert spec is not None, "treat_microdata needs outputs.microdata"
    original = canonical_sets(frame, policy)  # a multiple-choice question is one set value
    frame, done = remove_identifiers(
        original, policy, key_file=key_file, pseudonym_key=pseudonym_key
    )
    # 128 bits: a short seed could be found by search and the randomisation undone.
    seed = secrets.randbits(128) if seed is None else seed
    rng = np.random.default_rng(seed)
    generalization = None
    steps = list(spec.treatments)
    if spec.generalize == "auto" and "suppress" in steps:
        steps.remove("suppress")
    frame = _swap_records(frame, policy, rng, done)
    for step in steps:
        if step == "recode":
            frame, records = deterministic_recodes(frame, policy)
            done.extend(records)
        elif step in _PERTURBATIONS:
            frame, records = _PERTURBATIONS[step](frame, policy, rng)
            done.extend(records)
        elif step == "suppress":
            refuse_unreachable(frame, policy, blank_before=_all_blank(original, policy))
            frame, record = suppress_to_policy(frame, policy, meter)
            done.append(record)
    if spec.generalize == "auto":
        generalization = _search(frame, policy, meter)
        frame = generalization.data
        done.append(_search_record(generalization))
    frame, records = derive_options(frame, policy, _set_values(done))
    done.extend(records)
    suppressed = _suppressed(original, frame, policy.quasi)
    # A record whose quasi-identifiers are all blank reveals no key: it counts as
    # suppressed, whether its values were blanked here or were missing already.
    blank = all_blank(encode_keys(frame, policy.quasi, "wildcard"))
    treated = TreatedMicrodata(
        frame=frame,
        treatments=tuple(done),
        suppressed_records=int((suppressed.any(axis=1) | blank).sum()),
        suppressed_values={q: int(suppressed[:, i].sum()) for i, q in enumerate(policy.quasi)},
        generalization=generalization,
        seed=seed,
        distinct_before={q: int(original[q].nunique()) for q in policy.quasi},
    )
    limit = policy.thresholds.max_suppression
    if treated.suppression_share > limit + 1e-12:
        already = int(all_blank(encode_keys(original, policy.quasi, "wildcard")).sum())
        blank_note = (
            f" ({already} of them blank in every quasi-identifier in the input: they reveal "
            "no key and count as suppressed)"
            if already
            else ""
        )
        raise PolicyNotMet(
            f"{_suppression_goal(treated, policy)} needs {treated.suppressed_records} records "
            f"({treated.suppression_share:.1%}) with a suppressed value{blank_note}, above "
            f"max_suppression {limit:.1%}; recode the quasi-identifiers more coarsely "
            "(recode: bands or map), use generalize: auto, or raise thresholds.max_suppression"
        )
    return treated


def _swap_records(
    frame: pd.DataFrame, policy: Policy, rng: np.random.Generator, done: list[Treatment]
) -> pd.DataFrame:
    """Targeted record swapping (``outputs.microdata.swap``), on the input's values."""
    spec = policy.outputs.microdata.swap if policy.outputs.microdata else None
    if spec is None:
        return frame
    geography = {spec.level, *spec.carry}
    frame, record = record_swap(
        frame,
        level=spec.level,
        rate=spec.rate,
        similar=spec.similar,
        carry=spec.carry,
        household=policy.data.household if spec.unit == "household" else None,
        risk_columns=[q for q in policy.quasi if q not in geography],
        k=spec.k if spec.k is not None else policy.thresholds.k,
        seed=_draw(rng),
    )
    done.append(record)
    return frame


Perturbation = Callable[
    [pd.DataFrame, Policy, np.random.Generator], tuple[pd.DataFrame, list[Treatment]]
]


def _pram(
    frame: pd.DataFrame, policy: Policy, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Treatment]]:
    done = []
    for name, col in policy.columns.items():
        if col.pram is not None:
            frame, record = pram(
                frame,
                name,
                col.pram.p,
                alpha=col.pram.alpha,
                seed=_draw(rng),
                strata=col.pram.strata,
                matrix=col.pram.matrix,
            )
            done.append(record)
    return frame, done


def _microaggregation(
    frame: pd.DataFrame, policy: Policy, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Treatment]]:
    done = []
    for (k, method, strata, weighted), names in microaggregation_groups(policy).items():
        weights = policy.data.weight if weighted else None
        frame, record = microaggregate(
            frame, names, k, method, strata=list(strata), weights=weights
        )
        done.append(record)
    return frame, done


def microaggregation_groups(
    policy: Policy,
) -> dict[tuple[int, str, tuple[str, ...], bool], list[str]]:
    """The microaggregated columns by their (k, method, strata, weighted), in policy order.

    Columns with the same settings are aggregated together (one set of groups).
    """
    groups: dict[tuple[int, str, tuple[str, ...], bool], list[str]] = {}
    for name, col in policy.columns.items():
        spec = col.microaggregation
        if spec is not None:
            key = (spec.k, spec.method, tuple(spec.strata), spec.weighted)
            groups.setdefault(key, []).append(name)
    return groups


def _noise(
    frame: pd.DataFrame, policy: Policy, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Treatment]]:
    done = []
    for name, col in policy.columns.items():
        if col.noise is not None:
            bounds = {name: col.bounds} if col.bounds else None
            frame, record = add_noise(frame, [name], col.noise.sd, seed=_draw(rng), bounds=bounds)
            done.append(record)
    return frame, done


def _rank_swap(
    frame: pd.DataFrame, policy: Policy, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Treatment]]:
    by_p: dict[float, list[str]] = {}
    for name, col in policy.columns.items():
        if col.rank_swap is not None:
            by_p.setdefault(col.rank_swap.p, []).append(name)
    done = []
    for p, names in by_p.items():
        frame, record = rank_swap(frame, names, p, seed=_draw(rng))
        done.append(record)
    return frame, done


def _shuffle(
    frame: pd.DataFrame, policy: Policy, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Treatment]]:
    """Data shuffling of the ``shuffle: true`` columns, modelled on the other kept columns."""
    names = [n for n, c in policy.columns.items() if c.shuffle]
    if not names:
        return frame, []
    special = {policy.data.weight, policy.data.household, *policy.link_columns}
    predictors = [
        n
        for n, c in policy.columns.items()
        if c.role in ("quasi", "sensitive", "other") and n not in names and n not in special
    ]
    frame, record = shuffle(frame, names, predictors, seed=_draw(rng))
    return frame, [record]


def _mv_top_code(
    frame: pd.DataFrame, policy: Policy, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[Treatment]]:
    """Multivariate top coding, one ellipsoid per ``alpha`` (deterministic, no draw)."""
    done = []
    for alpha, names in mv_top_code_groups(policy).items():
        frame, record = mv_top_code(frame, names, alpha)
        done.append(record)
    return frame, done


def mv_top_code_groups(policy: Policy) -> dict[float, list[str]]:
    """The columns with ``mv_top_code``, by their alpha, in policy order."""
    groups: dict[float, list[str]] = {}
    for name, col in policy.columns.items():
        if col.mv_top_code is not None:
            groups.setdefault(col.mv_top_code.alpha, []).append(name)
    return groups


#: The random and numeric treatments of ``outputs.microdata.treatments``, by name.
_PERTURBATIONS: dict[str, Perturbation] = {
    "pram": _pram,
    "microaggregation": _microaggregation,
    "noise": _noise,
    "rank_swap": _rank_swap,
    "shuffle": _shuffle,
    "mv_top_code": _mv_top_code,
}


#: The treatments that leave a number the same whatever the seed.
_DETERMINISTIC_NUMERIC = frozenset({"recode", "microaggregation", "mv_top_code"})


def recompute_numeric(
    frame: pd.DataFrame, policy: Policy, columns: list[str]
) -> pd.DataFrame | None:
    """``columns`` as the release leaves them, recomputed from the input, in input order.

    Possible when only deterministic steps change them: the policy's recodes (top and bottom
    coding), microaggregation and multivariate top coding, run in the policy's order. None
    when noise, rank swapping or shuffling treats one of them, record swapping moves one,
    local suppression may blank one (a quasi-identifier), or a microaggregation stratum is
    swapped, PRAMed or may be suppressed: then the released values cannot be rebuilt and
    paired with the input's records (the release shuffles the records).
    """
    spec = policy.outputs.microdata
    if spec is None or not columns:
        return None
    moved = {spec.swap.level, *spec.swap.carry} if spec.swap is not None else set()
    for name in columns:
        col = policy.columns[name]
        random = (
            (col.noise is not None and "noise" in spec.treatments)
            or (col.rank_swap is not None and "rank_swap" in spec.treatments)
            or (col.shuffle and "shuffle" in spec.treatments)
        )
        blanked = col.role == "quasi" and (
            "suppress" in spec.treatments or spec.generalize == "auto"
        )
        if random or blanked or name in moved:
            return None
    strata = {s for key in microaggregation_groups(policy) for s in key[2]}
    for name in strata:  # groups formed within strata that swapping, PRAM or suppression change
        col = policy.columns[name]
        suppressed = "suppress" in spec.treatments or spec.generalize == "auto"
        pramed = col.pram is not None and "pram" in spec.treatments
        if name in moved or pramed or (col.role == "quasi" and suppressed):
            return None
    out = canonical_sets(frame, policy)
    rng = np.random.default_rng(0)  # unused: these steps draw nothing
    for step in spec.treatments:
        if step == "recode":
            out, _ = deterministic_recodes(out, policy)
        elif step in ("microaggregation", "mv_top_code"):
            out, _ = _PERTURBATIONS[step](out, policy, rng)
    return out


def _set_values(done: list[Treatment]) -> dict[str, list[object]]:
    """The values each recoded multiple-choice question can take, from its recode record."""
    return {t.columns[0]: list(t.details["values"]) for t in done if t.name == "recode.multiple"}


#: Told ``(step, done, total)`` as a long step advances (a progress bar on a terminal).
Meter = Callable[[str, int, int], None]


def _labelled(meter: Meter | None, label: str) -> Callable[[int, int], None] | None:
    """The ``(done, total)`` progress of one step, for ``meter`` (None without one)."""
    if meter is None:
        return None
    return lambda done, total: meter(label, done, total)


def _all_blank(frame: pd.DataFrame, policy: Policy) -> int:
    return int(all_blank(encode_keys(frame, policy.quasi, "wildcard")).sum())


def refuse_unreachable(frame: pd.DataFrame, policy: Policy, *, blank_before: int = 0) -> None:
    """Refuse at once a suppression that cannot stay within ``max_suppression``.

    Counts the records that must lose a value whatever local suppression does
    (:func:`must_lose_a_value`: below k on the key as it stands, and no other record's
    suppression can lift them); with the records that reveal no key already
    (``blank_before``) they are a lower bound of the suppressed share. Above the limit, the
    release is refused before the (slow) search, saying why and what to change.

    Raises:
        PolicyNotMet: the bound is above ``thresholds.max_suppression``.
    """
    n, k, limit = len(frame), policy.thresholds.k, policy.thresholds.max_suppression
    if not n or not policy.quasi:
        return
    below = int(must_lose_a_value(frame, policy.quasi, k, policy.missing).sum())
    if not below or (below + blank_before) / n <= limit + 1e-12:
        return
    distinct = frame[policy.quasi].nunique()
    varied = ", ".join(f"{q} ({int(distinct[q])})" for q in distinct.nlargest(3).index)
    blank = (
        f" (besides {blank_before} blank in every quasi-identifier in the input, which count "
        "as suppressed)"
        if blank_before
        else ""
    )
    raise PolicyNotMet(
        f"k = {k} cannot be reached within max_suppression {limit:.1%}: {below} of the {n} "
        f"records ({below / n:.1%}) are in a combination of the {len(policy.quasi)} "
        f"quasi-identifiers that fewer than {k} records share, and each of them would lose a "
        f"value{blank} (checked before suppressing anything). Keep as quasi-identifiers only "
        "what an outsider could know (not timestamps, device ids or who collected the data), "
        "recode the most varied more coarsely (recode: bands or map; values after the "
        f"recodes: {varied}), use generalize: auto, or raise thresholds.max_suppression"
    )


def suppress_to_policy(
    frame: pd.DataFrame, policy: Policy, meter: Meter | None = None
) -> tuple[pd.DataFrame, Treatment]:
    """Local suppression to k, l and group share, raising k until the risk limits hold.

    ``max_individual_risk`` and ``max_expected_reidentifications`` (for records and, with a
    household column, for households) are met by suppressing to a larger k: each step
    multiplies k by 1.5 until the risk holds, the suppression limit is passed (the release
    then stops naming it) or every record would be blank. The k used is in the record.
    """
    t = policy.thresholds
    n = len(frame)

    def run(k: int) -> tuple[pd.DataFrame, SuppressionRecord]:
        return local_suppression(
            frame,
            policy.quasi,
            k,
            importance=_importance(policy),
            missing=policy.missing,
            diversity=diversity_limits(policy),
            progress=_labelled(meter, f"local suppression to k = {k}"),
        )

    k = t.k
    treated, record = run(k)
    if t.max_individual_risk is None and t.max_expected_reidentifications is None:
        return treated, record
    limits = RiskThresholds(
        k=t.k,
        max_individual_risk=t.max_individual_risk,
        max_expected_reidentifications=t.max_expected_reidentifications,
    )
    raised: list[str] = []
    while k < n:
        levels = risk_levels(
            treated,
            quasi=policy.quasi,
            weight=policy.data.weight,
            household=policy.data.household,
            missing=policy.missing,
        )
        over = levels.breaches(limits)
        share = _suppressed(frame, treated, policy.quasi).any(axis=1).mean() if n else 0.0
        if not over or share > t.max_suppression:
            break
        raised = over
        k = min(n, max(k + 1, math.ceil(k * 1.5)))
        treated, record = run(k)
    if k == t.k:
        return treated, record
    return treated, replace(
        record,
        parameters={**record.parameters, "k": k, "policy_k": t.k, "raised_for": raised},
    )


def diversity_limits(policy: Policy) -> DiversityLimits | None:
    """The policy's l and group-share limits on its sensitive columns (None if none set)."""
    t = policy.thresholds
    if not policy.sensitive or (t.l is None and t.group_share is None):
        return None
    return DiversityLimits(
        sensitive=tuple(policy.sensitive),
        l=t.l,
        kind=t.l_diversity,
        recursive_c=t.recursive_c,
        group_share=t.group_share,
    )


def _suppression_goal(treated: TreatedMicrodata, policy: Policy) -> str:
    """What the suppression had to reach: k, l, group share, risk limits it was raised for."""
    goal = f"k = {policy.thresholds.k}"
    t = policy.thresholds
    if policy.sensitive and t.l is not None:
        goal += f", l = {t.l}"
    if policy.sensitive and t.group_share is not None:
        goal += f", group_share {t.group_share:g}"
    for record in treated.treatments:
        raised = record.parameters.get("raised_for") if record.name == "local_suppression" else None
        if raised:
            goal += f" (raised to k = {record.parameters['k']} for {', '.join(raised)})"
    return goal


def _draw(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63 - 1))


def _importance(policy: Policy) -> dict[str, int] | None:
    found = {n: c.importance for n, c in policy.columns.items() if c.importance is not None}
    return found or None


def _searched(policy: Policy, name: str) -> bool:
    col = policy.columns[name]
    return (
        col.role == "quasi"
        and col.recode is not None
        and col.recode.map is not None
        and (col.recode.level is None)
    )


def _search(
    frame: pd.DataFrame, policy: Policy, meter: Meter | None = None
) -> GeneralizationResult:
    """Run the optimal search with the policy's thresholds, importance and level caps.

    Attribute weights come from ``importance`` (1 = most important): weight ``1/importance``,
    normalised to sum 1 by the search. A quasi-identifier without an importance ranks after
    every one with an importance (weight ``1/(max + 1)``), as local suppression treats it as
    the least important; with no importance at all every weight is equal, which is ARX's
    default. ``recode.max_level`` caps the level the search may choose for its column.
    """
    hierarchies = {}
    for name in policy.quasi:
        if _searched(policy, name):
            found = policy.hierarchy(name)
            assert found is not None
            hierarchies[name] = found
    if not hierarchies:
        raise PolicyNotMet(
            f"{policy.where('outputs', 'microdata', 'generalize')}: generalize: auto needs "
            "quasi-identifiers with recode: {map: FILE} and no level, so it can choose levels"
        )
    others = [q for q in policy.quasi if q not in hierarchies]
    importance = {
        q: policy.columns[q].importance
        for q in policy.quasi
        if policy.columns[q].importance is not None
    }
    weight = None
    if importance:
        last = max(v for v in importance.values() if v is not None) + 1
        weight = {q: 1.0 / (importance.get(q) or last) for q in policy.quasi}
    max_level = {}
    for name in hierarchies:
        recode = policy.columns[name].recode
        if recode is not None and recode.max_level is not None:
            top = hierarchies[name].levels - 1
            if recode.max_level > top:
                raise PolicyError(
                    f"{policy.where('columns', name, 'recode', 'max_level')}: "
                    f"columns.{name}.recode.max_level is {recode.max_level}, but "
                    f"{recode.map} has levels 0 to {top}; give a level from 0 to {top}"
                )
            max_level[name] = recode.max_level
    th = policy.thresholds
    return optimal_generalization(
        frame,
        hierarchies,
        k=th.k,
        l=th.l,
        sensitive=policy.sensitive if th.l else (),
        l_diversity=th.l_diversity,
        recursive_c=th.recursive_c,
        max_suppression=th.max_suppression,
        other_quasi=others,
        weight=weight,
        max_level=max_level,
        progress=_labelled(meter, "searching generalisation levels"),
    )


def _search_record(result: GeneralizationResult) -> Treatment:
    parameters: dict[str, object] = {
        "k": result.k,
        "l": result.l,
        "max_suppression": result.max_suppression,
        "metric": result.metric,
        "aggregate": result.aggregate,
        "weights": dict(result.weights),
        "max_level": dict(result.max_level),
    }
    if result.l is not None:
        parameters["l_diversity"] = result.l_diversity
        if result.l_diversity == "recursive":
            parameters["recursive_c"] = result.recursive_c
    return Treatment(
        name="generalize.auto",
        columns=tuple(result.levels),
        parameters=parameters,
        changed={},
        details={
            "levels": dict(result.levels),
            "removed": list(result.removed),
            "loss_per_variable": result.loss_per_variable,
            "score": result.score,
            "suppressed_records": result.suppressed_count,
            "blank_records": result.blank_records,
            "nodes_checked": result.nodes_checked,
            "lattice_size": result.lattice_size,
            "loss": asdict(result.loss),
        },
    )


def _suppressed(before: pd.DataFrame, after: pd.DataFrame, quasi: list[str]) -> np.ndarray:
    """(n, q) mask of quasi-identifier values present before and missing after."""
    if not quasi:
        return np.zeros((len(before), 0), dtype=bool)
    was = before[quasi].notna().to_numpy()
    now = after[quasi].isna().to_numpy()
    return np.asarray(was & now)
