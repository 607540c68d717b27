"""``python -m benches``: the same as the ``bench`` command."""

from benches.cli.main import entry

entry()
