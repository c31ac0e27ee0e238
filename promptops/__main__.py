"""Allow `python -m promptops`."""

from promptops.cli.main import run

run()
