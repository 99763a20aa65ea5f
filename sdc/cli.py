"""The ``sdc`` command: a thin shell over the library.

Each command parses its options, calls ONE library function and renders the result.
User errors (:class:`sdc.errors.SdcError`) are translated once, in :class:`SdcGroup`, into
one line on stderr and their exit code (2 for bad input, 1 for a policy not met). Any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sdc import __version__
from sdc.errors import SdcError
from sdc.i18n import LANGUAGES, language

if TYPE_CHECKING:
    from sdc.io import ReadOptions
    from sdc.risk.engines import EngineName

# The library (pandas, numpy, the measures) is imported inside each command, so that
# ``sdc --help`` and a command's --help start fast.

F = TypeVar("F", bound=Callable[..., Any])


class SdcGroup(click.Group):
    """A click group that turns :class:`SdcError` into one clear line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; report user errors without a traceback."""
        try:
            return super().invoke(ctx)
        except SdcError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def data_argument(func: F) -> F:
    """The DATA argument, a survey file (CSV, XLSX, DTA, SAV, Parquet), and how to read it."""
    func = reading_options(func)
    return click.argument("data", type=click.Path(path_type=Path))(func)


_READING_KEYS = ("delimiter", "decimal", "encoding", "sheet", "header_row")


def reading_options(func: F) -> F:
    """--delimiter, --decimal, --encoding, --sheet and --header-row, given as ``reading``.

    The command receives one :class:`~sdc.io.ReadOptions` keyword, ``reading``; options
    not given stay None, so the policy's ``data:`` keys of the same names apply.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sdc.io import ReadOptions

        values = {key: kwargs.pop(key) for key in _READING_KEYS}
        return func(*args, reading=ReadOptions(**values), **kwargs)

    options = [
        click.option(
            "--header-row",
            type=int,
            default=None,
            metavar="N",
            help="Row holding the column names, numbered from 1 as in a spreadsheet "
            "(default: 1, or the policy's data.header_row).",
        ),
        click.option(
            "--sheet",
            default=None,
            help="Sheet of an XLSX workbook (default: the first, or the policy's data.sheet).",
        ),
        click.option(
            "--encoding",
            default=None,
            help="Text encoding of a CSV file, e.g. latin-1 or cp1252 (default: UTF-8, "
            "else Windows-1252 with a note).",
        ),
        click.option(
            "--decimal",
            type=click.Choice([".", ","]),
            default=None,
            help="Decimal mark of numbers in a CSV file (default: '.').",
        ),
        click.option(
            "--delimiter",
            default=None,
            help="Field separator of a CSV file, e.g. ';' or '\\t' (default: guessed).",
        ),
    ]
    decorated: Any = wrapper
    for option in options:
        decorated = option(decorated)
    return decorated


def policy_option(func: F) -> F:
    """The --policy option shared by risk, release and check."""
    return click.option(
        "--policy",
        "-p",
        "policy_path",
        required=True,
        type=click.Path(path_type=Path),
        help="Policy file (YAML, version 1).",
    )(func)


def engine_options(func: F) -> F:
    """--engine and --spark-master, shared by risk and release."""
    func = click.option(
        "--spark-master",
        default=None,
        help="Spark master URL for --engine spark (default: local[2]), e.g. spark://host:7077.",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(["pandas", "duckdb", "spark"]),
        default=None,
        help="Counting engine (default: the policy's engine, else pandas).",
    )(func)


def lang_option(func: F) -> F:
    """--lang: the language of the reports (the policy's report.lang when not given)."""
    return click.option(
        "--lang",
        type=click.Choice(LANGUAGES),
        default=None,
        help="Language of the reports and the summary: en, fr or es (default: the policy's "
        "report: lang:, else en).",
    )(func)


def _exit_codes(ok: str = "ok", finding: str | None = None) -> str:
    """The help's closing line: what each exit code of a command means (CONVENTIONS 3)."""
    middle = f", 1 {finding}" if finding else ""
    return f"Exit codes: 0 {ok}{middle}, 2 bad usage or input (the message says what to fix)."


def _echo_notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        click.echo(f"Note: {note}", err=True)


@click.group(
    cls=SdcGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_exit_codes(finding="a finding: the data do not meet the policy"),
)
@click.version_option(__version__, prog_name="sdc")
def cli() -> None:
    """Statistical disclosure control for citizen-generated data.

    Score re-identification risk, treat data by a policy and release safe microdata,
    tables and synthetic data.

    \b
    Workflow: scan → risk → release → check
      sdc scan survey.csv -o policy.yaml          draft a policy, then edit it
      sdc risk survey.csv --policy policy.yaml    who could be singled out
      sdc release survey.csv --policy policy.yaml --out release/
                                                  treat the data, write a bundle
      sdc check release/ --policy policy.yaml     verify the bundle

    Try the whole workflow on a fake survey first: sdc demo
    """


@cli.command(epilog=_exit_codes(finding="the fake survey does not meet its own policy"))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("sdc-demo"),
    show_default=True,
    help="New folder for the demo files.",
)
@click.option(
    "--rows",
    type=int,
    default=5000,
    show_default=True,
    help="Survey size, from 3000 rows (the fewest with which the demo always meets its own "
    "policy) to 20000.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the fake survey.")
def demo(out: Path, rows: int, seed: int) -> None:
    """Run the whole workflow on a fake disability-inclusion survey.

    Writes the survey and its policy, then scans it, measures its risk, releases it and
    checks the release, printing where everything went.

    \b
    Example:
        sdc demo --out demo-out
    """
    from sdc import workflow
    from sdc.report import risk_text

    outcome = workflow.run_demo(out, rows=rows, seed=seed, progress=_progress)
    click.echo(risk_text(outcome.before))
    click.echo("")
    click.echo(workflow.demo_summary(outcome))


@cli.command(epilog=_exit_codes())
@data_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the draft policy here (never overwrites an existing file).",
)
def scan(data: Path, reading: ReadOptions, output: Path | None) -> None:
    """Profile DATA's columns and draft a policy.

    Flags direct identifiers (names, phones, e-mails, ID numbers, GPS), likely
    quasi-identifiers and sensitive attributes, and writes a commented draft policy for
    you to edit.

    \b
    Example:
        sdc scan survey.csv -o policy.yaml
    """
    from sdc import workflow
    from sdc.io import write_text_new

    result = workflow.scan_file(data, reading=reading)
    _echo_notes(result.table.notes)
    click.echo(workflow.scan_summary(result))
    if output is not None:
        write_text_new(output, result.policy_text)
        click.echo(f"Draft policy written to {output}; review every line before using it.")


@cli.command(epilog=_exit_codes("within the policy's thresholds", "a threshold is exceeded"))
@data_argument
@policy_option
@engine_options
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Write every figure as JSON."
)
@click.option(
    "--html", "html_path", type=click.Path(path_type=Path), help="Write a printable HTML report."
)
@click.option(
    "--records",
    "records_path",
    type=click.Path(path_type=Path),
    help="Write per-record risks, after the policy's recodes when it has any (steward only: "
    "never share this file).",
)
@click.option(
    "--suda",
    is_flag=True,
    help="Compute SUDA2 and the per-variable contributions whatever the file's size (by "
    "default they are left out above 250,000 records, and the report says so).",
)
@lang_option
def risk(
    data: Path,
    reading: ReadOptions,
    policy_path: Path,
    engine: EngineName | None,
    spark_master: str | None,
    json_path: Path | None,
    html_path: Path | None,
    records_path: Path | None,
    suda: bool,
    lang: str | None,
) -> None:
    """Measure the re-identification risk of DATA under a policy.

    Prints a summary, plain-language findings and which variables to recode. When the
    policy recodes (bands, hierarchy levels, dates, top coding...), the risk is shown as
    collected and after those recodes; the advice and the exit code follow the latter.
    Exits 1 when a policy threshold is exceeded. With --engine duckdb or spark the engine
    reads the file itself (CSV or Parquet, larger than memory) and computes the
    frequency-based measures on the data as collected.

    \b
    Example:
        sdc risk survey.csv --policy policy.yaml --html risk.html
        sdc risk census.parquet --policy policy.yaml --engine duckdb --records r.parquet
    """
    from sdc import workflow

    with _Meter() as meter:
        outcome = workflow.run_risk(
            data,
            policy_path,
            reading=reading,
            engine=engine,
            spark_master=spark_master,
            json_path=json_path,
            html_path=html_path,
            records_path=records_path,
            lang=lang,
            suda=suda,
            progress=meter,
        )
    if outcome.table is not None:
        _echo_notes(outcome.table.notes)
    _echo_notes(outcome.notes)
    click.echo(workflow.risk_summary_text(outcome))
    for path in outcome.written:
        click.echo(f"Wrote {path}")
    sys.exit(0 if outcome.passed else 1)


@cli.command(
    epilog=_exit_codes(
        "released", "the data do not meet the policy or the privacy budget (nothing written)"
    )
)
@data_argument
@policy_option
@engine_options
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Bundle folder.")
@click.option(
    "--force", is_flag=True, help="Replace an existing bundle (only once the new one is complete)."
)
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    default=None,
    help="File with the key of linkable pseudonyms (columns with linkable: true; default: the "
    "SDC_PSEUDONYM_KEY variable). Other pseudonyms get a fresh key per release, kept in "
    "OUT.pseudonym-key.",
)
@click.option("--seed", type=int, default=None, help="Seed of the non-DP randomness (PRAM, noise).")
@click.option(
    "--sign",
    "sign",
    metavar="KEY",
    type=click.Path(path_type=Path),
    default=None,
    help="Sign the manifest with this private key (sdc.key from `sdc keys new`): writes "
    "manifest.sig.",
)
@lang_option
def release(
    data: Path,
    reading: ReadOptions,
    policy_path: Path,
    engine: EngineName | None,
    spark_master: str | None,
    out: Path,
    force: bool,
    key_file: Path | None,
    seed: int | None,
    sign: Path | None,
    lang: str | None,
) -> None:
    """Treat DATA by the policy and write a verifiable release bundle to OUT.

    Writes nothing and exits 1 when the policy cannot be met. Pseudonyms get a fresh key
    per release, kept for you in OUT.pseudonym-key (never in the bundle), unless the
    policy marks a column linkable: true.

    \b
    Example:
        sdc release survey.csv --policy policy.yaml --out release/
        sdc release survey.csv --policy policy.yaml --out release/ --sign keys/sdc.key
    """
    from sdc import workflow

    with _Meter() as meter:
        result = workflow.run_release(
            data,
            policy_path,
            out,
            reading=reading,
            force=force,
            key_file=key_file,
            seed=seed,
            engine=engine,
            spark_master=spark_master,
            progress=_progress,
            sign=sign,
            meter=meter,
            lang=lang,
        )
    _echo_notes(result.notes)
    click.echo(f"Release written to {result.out}/")
    for name in result.files:
        click.echo(f"  {name}")
    if result.signer is not None:
        click.echo(f"Signed by key {result.signer} (manifest.sig).")
    if result.pseudonym_key is not None:
        click.echo(
            f"Pseudonym key of this release: {result.pseudonym_key} (keep it private: it maps "
            "the pseudonyms back; never publish it)."
        )
    from sdc.report.release import release_warnings, scope_lines  # lazy: jinja2 only here
    from sdc.report.summary import release_summary

    with language(result.lang):  # the notes and the summary in the report's language
        costs = release_warnings(result)
        notes = scope_lines(result) + costs
        summary = release_summary(result, costs)
    for line in notes:
        click.echo(f"Note: {line}")
    if result.budget.epsilon > 0:
        click.echo(f"Privacy budget spent: {result.budget.describe()} (see `sdc budget`).")
    click.echo("\n".join(summary))


@cli.command(epilog=_exit_codes("the files were written"))
@click.argument("data", type=click.Path(path_type=Path))
@policy_option
@reading_options
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the tau-Argus files (never a release bundle).",
)
def argus(data: Path, policy_path: Path, reading: ReadOptions, out: Path) -> None:
    """Export the policy's suppression tables in tau-Argus' tabular format, for cross-checks.

    Writes NAME.tab, NAME.rda, NAME.hst (our primary cells unsafe, cells kept published
    protected), COLUMN.hrc for hierarchies and NAME.pattern.csv (our pattern) per table.
    The files hold every true cell value: they are for the statistical office, never for
    publication.

    \b
    Example:
        sdc argus survey.csv --policy policy.yaml --out argus/
    """
    from sdc import workflow

    for path in workflow.run_argus(data, policy_path, out, reading=reading):
        click.echo(f"  {path}")


@cli.command(epilog=_exit_codes("every check passed", "a check failed"))
@click.argument("bundle", type=click.Path(path_type=Path))
@policy_option
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="The input the bundle was made from: re-run the policy's deterministic steps on it.",
)
@reading_options
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Write the checks as JSON."
)
@click.option(
    "--trust",
    metavar="PUB",
    type=click.Path(path_type=Path),
    default=None,
    help="Require a valid signature of manifest.json by this public key (sdc.pub).",
)
@click.option(
    "--input-key",
    metavar="FILE",
    type=click.Path(path_type=Path),
    default=None,
    help="With --data: the key of a DP bundle's keyed input hash (default: BUNDLE.input-key "
    "beside the bundle, where the release left it).",
)
def check(
    bundle: Path,
    policy_path: Path,
    data: Path | None,
    reading: ReadOptions,
    json_path: Path | None,
    trust: Path | None,
    input_key: Path | None,
) -> None:
    """Verify a release BUNDLE against a policy: hashes, treatments, risk, tables, budget.

    Re-derives the release plan from the policy and recomputes everything it can from the
    released files: recoded values, removed columns, table methods and epsilon, risk.
    With --data, also checks that the input's hash is the bundle's and that the released
    values are the input's after the policy's recodes (a DP bundle's keyed input hash is
    compared under the key in --input-key, else BUNDLE.input-key). With --trust the bundle
    must be signed by that key; without it a signed bundle's signer is only reported as
    the manifest claims it (the bundle holds no public key). Exits 1 if any check fails.

    \b
    Example:
        sdc check release/ --policy policy.yaml --data survey.csv --trust keys/sdc.pub
    """
    if input_key is not None and data is None:
        raise click.UsageError(
            "--input-key only goes with --data INPUT: the key lets check compare INPUT with "
            "the bundle's keyed input hash"
        )
    from sdc import workflow
    from sdc.io import write_text

    result = workflow.run_check(
        bundle, policy_path, data=data, reading=reading, trust=trust, input_key=input_key
    )
    width = max(len(item.name) for item in result.items)
    for item in result.items:
        status = "PASS" if item.passed else "FAIL"
        click.echo(f"{status}  {item.name.ljust(width)}  {item.detail}")
    click.echo(f"\n{bundle}: {'passes' if result.passed else 'FAILS'} the policy")
    if json_path is not None:
        write_text(json_path, json.dumps(result.to_dict(), indent=2) + "\n")
    sys.exit(0 if result.passed else 1)


def ledger_options(func: F) -> F:
    """--policy and --ledger: which ledger the budget commands read."""
    func = click.option(
        "--ledger",
        "ledger_path",
        type=click.Path(path_type=Path),
        default=None,
        help="The ledger file (default: the policy's privacy.ledger, else SDC_LEDGER, else "
        "~/.sdc/ledger.jsonl).",
    )(func)
    return click.option(
        "--policy",
        "-p",
        "policy_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Use the ledger this policy names (privacy.ledger).",
    )(func)


@cli.group(invoke_without_command=True, epilog=_exit_codes())
@ledger_options
@click.option("--json", "as_json", is_flag=True, help="Print the ledger summary as JSON.")
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A release bundle to look for in the ledger (repeatable): one that spent budget "
    "the ledger has no entry for is reported.",
)
@click.pass_context
def budget(
    ctx: click.Context,
    policy_path: Path | None,
    ledger_path: Path | None,
    as_json: bool,
    bundles: tuple[Path, ...],
) -> None:
    """Show the privacy budget spent per dataset, from the ledger.

    The ledger is the policy's privacy.ledger (with --policy), else SDC_LEDGER, else
    ~/.sdc/ledger.jsonl. A release that never completed still counts as spent.

    \b
    Example:
        sdc budget --policy policies/survey.yaml --bundle releases/2026-q4
    """
    if ctx.invoked_subcommand is not None:
        return
    from sdc import workflow

    ledger, rows, notes = workflow.budget_summary(policy_path, ledger_path, list(bundles))
    _echo_notes(tuple(notes))
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    if not rows:
        click.echo(f"No differentially private release recorded yet in {ledger.shown}.")
        return
    click.echo(f"Ledger: {ledger.shown}")
    click.echo(workflow.budget_table(rows))


@cli.group(epilog=_exit_codes())
def keys() -> None:
    """Make the key pair that signs release bundles."""


@keys.command("new", epilog=_exit_codes())
@click.argument("folder", type=click.Path(path_type=Path))
def keys_new(folder: Path) -> None:
    """Write a new Ed25519 key pair: FOLDER/sdc.key (private) and FOLDER/sdc.pub.

    The private key file is readable by you only (mode 0600) and is never overwritten.
    Sign releases with `sdc release --sign FOLDER/sdc.key`; give sdc.pub to whoever runs
    `sdc check --trust`.

    \b
    Example:
        sdc keys new keys/
    """
    from sdc.release.signing import new_key_pair  # lazy: cryptography loads only here

    pair = new_key_pair(folder)
    click.echo(f"Private key: {pair.private} (keep it secret; never share or publish it)")
    click.echo(f"Public key:  {pair.public} (give it to whoever checks your releases)")
    click.echo(f"Fingerprint: {pair.fingerprint}")


@budget.command("raise", epilog=_exit_codes())
@click.argument("dataset")
@click.option("--to", "to", required=True, type=float, help="The new epsilon cap.")
@click.option("--reason", required=True, help="Why the cap is raised (kept in the ledger).")
@ledger_options
def budget_raise(
    dataset: str, to: float, reason: str, policy_path: Path | None, ledger_path: Path | None
) -> None:
    """Raise DATASET's privacy-budget cap to epsilon TO, recorded with the reason.

    The cap is fixed in the ledger at a dataset's first DP release; editing privacy.budget
    in the policy does not change it. The ledger is append-only: the raise is one more line.

    \b
    Example:
        sdc budget raise survey-2026 --to 2.0 --reason "board decision 2026-12-01"
    """
    from sdc import workflow
    from sdc.budget import format_number

    ledger, old, new = workflow.budget_raise(
        dataset, to, reason, policy_path=policy_path, ledger_path=ledger_path
    )
    click.echo(
        f"Raised dataset {dataset}'s epsilon cap from {format_number(old.epsilon)} to "
        f"{format_number(new.epsilon)} in {ledger.shown}; the reason is recorded there."
    )


def _progress(label: str) -> None:
    """Show each long step on a terminal; stay silent when not interactive (CI)."""
    if sys.stderr.isatty():
        click.echo(f"... {label}", err=True)


class _Meter:
    """A progress bar with an estimate for each long step, on a terminal only (not in CI)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._key: tuple[str, int] | None = None
        self._done = 0

    def __enter__(self) -> _Meter:
        return self

    def __exit__(self, *_: object) -> None:
        self._close()

    def __call__(self, label: str, done: int, total: int) -> None:
        if total <= 0 or not sys.stderr.isatty():
            return
        if self._key != (label, total):  # a new step (or a new round of one)
            self._close()
            self._bar = click.progressbar(
                length=total, label=label, file=sys.stderr, show_eta=True, show_percent=True
            )
            self._bar.__enter__()
            self._key, self._done = (label, total), 0
        step = min(done, total) - self._done
        if step > 0:  # the bar only moves forward
            self._bar.update(step)
            self._done += step
        if done >= total:
            self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        self._bar, self._key, self._done = None, None, 0


@cli.group(epilog=_exit_codes("the policy is valid"))
def policy() -> None:
    """Validate and show policy files."""


@policy.command("validate", epilog=_exit_codes("the policy is valid"))
@click.argument("policy_path", type=click.Path(path_type=Path))
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Also check columns.")
@reading_options
def policy_validate(policy_path: Path, data: Path | None, reading: ReadOptions) -> None:
    """Check a policy file (and, with --data, that its columns exist).

    \b
    Example:
        sdc policy validate policies/cso-public.yaml --data survey.csv
    """
    from sdc import workflow

    loaded = workflow.validate_policy(policy_path, data, reading=reading)
    click.echo(f"{policy_path}: valid policy {loaded.name!r} (version {loaded.version})")


@policy.command("show", epilog=_exit_codes())
@click.argument("policy_path", type=click.Path(path_type=Path))
def policy_show(policy_path: Path) -> None:
    """Print the effective policy, with every default filled in.

    \b
    Example:
        sdc policy show policies/cso-public.yaml
    """
    import yaml

    from sdc.policy import load_policy

    loaded = load_policy(policy_path)
    click.echo(yaml.safe_dump(loaded.to_dict(), sort_keys=False), nl=False)
    if any(c.pram is not None and c.pram.p is not None for c in loaded.columns.values()):
        click.echo(
            "# pram.p is the retention probability of sdc's base matrix, not sdcMicro's pd: "
            "sdcMicro draws\n# each diagonal from U[pd, 1], so its pd = 0.8 behaves like "
            "p = 0.9 here."
        )


def main() -> None:
    """Entry point of the ``sdc`` console script."""
    cli(prog_name="sdc")
