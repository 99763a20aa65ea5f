"""Run the ``sdc`` CLI in-process, as a CI job would, for the CLI tests."""

from __future__ import annotations

from click.testing import CliRunner

from sdc.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    """Invoke ``sdc ARGS``; return the exit code, stdout and stderr (a bug re-raises)."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
