"""``python -m benches``: the same as the ``bench`` command."""

from benches.cli import entry

entry()
