"""The CLI reference is generated from --help and every command and option is documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from sdc.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_cli_md_is_up_to_date() -> None:
    generated = _generator().render()
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == generated, "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


def test_every_command_and_option_is_documented() -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "docs" / "cli.md").read_text(
        encoding="utf-8"
    )
    for path, command in _generator().walk(cli, ["sdc"]):
        assert " ".join(path) in docs, f"command {' '.join(path)} is not documented"
        for param in command.params:
            if isinstance(param, click.Option):
                assert any(opt in docs for opt in param.opts), (
                    f"{param.opts} of {path} undocumented"
                )


def test_every_command_has_an_example() -> None:
    for path, command in _generator().walk(cli, ["sdc"]):
        if not isinstance(command, click.Group):
            assert "Example:" in (command.help or ""), f"{' '.join(path)} has no Example: block"
