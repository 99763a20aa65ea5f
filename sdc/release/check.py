"""``sdc check``: verify a release bundle independently of the tool run that made it.

A clearance officer (or a CI job) gets a bundle folder and the policy it must meet. The
check trusts nothing in the bundle it can recompute: it re-hashes every file, re-reads
the released microdata and recomputes its risk under the given policy, audits every
suppressed table cell by linear programming, and adds up the privacy budget. The
manifest's own claims are only used where nothing else can be known (the suppression
share needs the original data), and then compared with the policy's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sdc.errors import DataError
from sdc.io import file_sha256, read_table
from sdc.policy import Policy
from sdc.release.bundle import MANIFEST, read_manifest
from sdc.release.pipeline import table_hierarchies, table_spec
from sdc.tables import audit_suppression
from sdc.workflow import assess

#: Thresholds where a larger value is stricter.
_AT_LEAST = ("k", "l")
#: Thresholds where a smaller value is stricter.
_AT_MOST = (
    "t",
    "max_individual_risk",
    "max_expected_reidentifications",
    "max_suppression",
    "group_share",
)


@dataclass(frozen=True)
class CheckItem:
    """One verified statement about the bundle."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class CheckResult:
    """Every check made on a bundle."""

    folder: Path
    items: tuple[CheckItem, ...]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(item.passed for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"schema", "folder", "passed", "checks": [...]}``."""
        return {
            "schema": "sdc.check/1",
            "folder": str(self.folder),
            "passed": self.passed,
            "checks": [vars(item) for item in self.items],
        }


def check_bundle(folder: Path, policy: Policy) -> CheckResult:
    """Verify a bundle against a policy.

    Raises:
        DataError: the folder is not a bundle (no or unreadable manifest).
    """
    manifest = read_manifest(folder)
    items: list[CheckItem] = []
    items += _check_hashes(folder, manifest)
    items += _check_policy(manifest, policy)
    if (folder / "microdata.csv").exists():
        items += _check_microdata(folder, manifest, policy)
    items += _check_tables(folder, manifest, policy)
    items += _check_budget(manifest, policy)
    return CheckResult(folder, tuple(items))


def _check_hashes(folder: Path, manifest: dict[str, Any]) -> list[CheckItem]:
    listed: dict[str, Any] = manifest.get("outputs", {})
    items = []
    bad = []
    for name, entry in listed.items():
        path = folder / name
        if not path.is_file():
            bad.append(f"{name} is missing")
        elif file_sha256(path) != entry.get("sha256"):
            bad.append(f"{name} was changed after the release (SHA-256 differs)")
    extra = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST and p.relative_to(folder).as_posix() not in listed
    )
    bad += [f"{name} is not listed in the manifest" for name in extra]
    items.append(
        CheckItem(
            "hashes",
            not bad,
            "; ".join(bad) if bad else f"{len(listed)} files match their SHA-256 in the manifest",
        )
    )
    return items


def _check_policy(manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    made = manifest.get("policy", {})
    made_t = made.get("thresholds", {})
    want = policy.thresholds.model_dump()
    weaker = []
    for key in _AT_LEAST + _AT_MOST:
        need = want.get(key)
        had = made_t.get(key)
        if need is None:
            continue
        if had is None:
            weaker.append(f"{key} was not set (policy: {need:g})")
        elif (key in _AT_LEAST and had < need) or (key in _AT_MOST and had > need):
            weaker.append(f"{key} was {had:g} (policy: {need:g})")
    made_quasi = {n for n, c in made.get("columns", {}).items() if c.get("role") == "quasi"}
    missing = [q for q in policy.quasi if q not in made_quasi]
    if missing:
        weaker.append(f"not treated as quasi-identifiers: {', '.join(missing)}")
    detail = (
        "the bundle was made under a weaker policy: " + "; ".join(weaker)
        if weaker
        else "the bundle's policy is at least as strict as this one"
    )
    return [CheckItem("policy", not weaker, detail)]


def _check_microdata(folder: Path, manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    frame = read_table(folder / "microdata.csv").frame
    items = []
    keyed = {n for n, c in policy.columns.items() if c.action == "pseudonymize"}
    leaked = [
        c
        for c in policy.columns_with("direct") + policy.columns_with("drop")
        if c in frame.columns and c not in keyed
    ]
    items.append(
        CheckItem(
            "identifiers",
            not leaked,
            f"columns that must be removed are present: {', '.join(leaked)}"
            if leaked
            else "no direct identifier or dropped column is present",
        )
    )
    absent = [q for q in policy.quasi if q not in frame.columns]
    if absent:
        items.append(
            CheckItem("risk", False, f"quasi-identifiers missing from the microdata: {absent}")
        )
        return items
    report = assess(frame, policy, suda=False)
    fk_min = int(report.records["f_k"].min()) if len(frame) else 0
    breaches = report.breaches
    items.append(
        CheckItem(
            "risk",
            not breaches,
            "; ".join(f"{b.name} is {b.value:g} (limit {b.limit:g})" for b in breaches)
            if breaches
            else f"recomputed: smallest group {fk_min} >= k {policy.thresholds.k}; "
            "every risk threshold holds",
        )
    )
    share = manifest.get("microdata", {}).get("suppression_share")
    limit = policy.thresholds.max_suppression
    if share is None:
        items.append(CheckItem("suppression", False, "the manifest records no suppression share"))
    else:
        items.append(
            CheckItem(
                "suppression",
                share <= limit + 1e-12,
                f"{share:.2%} of records suppressed (limit {limit:.2%}, from the manifest)",
            )
        )
    return items


def _check_tables(folder: Path, manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    items = []
    index = {table_spec(policy, i).table_name: i for i in range(len(policy.outputs.tables))}
    wanted = set(index)
    for entry in manifest.get("tables", []):
        name = entry["name"]
        wanted.discard(name)
        path = folder / "tables" / f"{name}.csv"
        if not path.exists():
            items.append(CheckItem(f"table {name}", False, "the table file is missing"))
            continue
        tidy = pd.read_csv(path, keep_default_na=False, na_values=[""])
        problems = _table_problems(tidy, entry, policy, index.get(name))
        items.append(
            CheckItem(
                f"table {name}",
                not problems,
                "; ".join(problems) if problems else _table_ok(tidy, entry),
            )
        )
    if wanted:
        items.append(CheckItem("tables", False, f"tables missing: {sorted(wanted)}"))
    return items


def _table_problems(
    tidy: pd.DataFrame, entry: dict[str, Any], policy: Policy, position: int | None
) -> list[str]:
    """What is wrong with a published table; ``position`` is its index in the policy."""
    problems = []
    stat = entry["statistic"]
    flags = tidy["flag"].astype(str)
    if stat not in tidy.columns:
        return [f"no {stat} column"]
    values = pd.to_numeric(tidy[stat], errors="coerce")
    published = flags.isin(["published", "rounded", "dp"])
    if values[~published].notna().any():
        problems.append("a suppressed cell shows a value")
    if (flags == "dp").any():
        if not {"noise_scale", "ci_low", "ci_high"} <= set(tidy.columns):
            problems.append("DP cells lack noise_scale or their 95% interval")
        return problems
    min_cell = policy.outputs.tables[position].min_cell if position is not None else None
    if stat == "count" and min_cell is not None:
        small = values[published & (flags == "published")]
        if ((small > 0) & (small < min_cell)).any():
            problems.append(f"a published count is below min_cell {min_cell}")
    if (flags.isin(["primary", "secondary"])).any() and stat in ("count", "sum"):
        try:
            nested = table_hierarchies(policy, position) if position is not None else None
            audit = audit_suppression(tidy, hierarchies=nested)
        except DataError as exc:
            problems.append(f"suppression pattern cannot be audited: {exc}")
        else:
            exposed = [c for c in audit if not c.protected]
            if exposed:
                problems.append(
                    f"{len(exposed)} suppressed primary cell(s) can be recomputed from the "
                    "published cells"
                )
    return problems


def _table_ok(tidy: pd.DataFrame, entry: dict[str, Any]) -> str:
    counts = tidy["flag"].value_counts().to_dict()
    shown = ", ".join(f"{n} {flag}" for flag, n in sorted(counts.items()))
    return f"{len(tidy)} cells ({shown}); suppression audit passed"


def _check_budget(manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    privacy = manifest.get("privacy", {})
    spent = float(privacy.get("spent", {}).get("epsilon", 0.0))
    parts = sum(float(t.get("budget", {}).get("epsilon", 0.0)) for t in manifest.get("tables", []))
    synth = manifest.get("synthetic")
    if synth:
        parts += float(synth.get("epsilon", 0.0))
    cap = policy.privacy.budget
    problems = []
    if abs(parts - spent) > 1e-9:
        problems.append(f"the outputs add up to epsilon {parts:g} but the manifest says {spent:g}")
    if spent > cap + 1e-12:
        problems.append(f"epsilon {spent:g} spent, above the policy's budget {cap:g}")
    return [
        CheckItem(
            "budget",
            not problems,
            "; ".join(problems) if problems else f"epsilon {spent:g} spent of {cap:g}",
        )
    ]
