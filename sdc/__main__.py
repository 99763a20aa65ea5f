"""Make ``python -m sdc`` work like the ``sdc`` command."""

from sdc.cli import main

main()
