"""The ``bench`` command (also ``python -m benches``).

Each subcommand lives in its own module with a ``register(subparsers)`` that
adds its parser and sets ``func``; add it to :data:`COMMANDS` to add a command.
Only the module of the command being run is imported (``bench analyze`` need
not load adb or HTTP clients); ``bench --help`` imports them all.

A command returns its exit code, and raises :class:`~benches.cli.exits.CommandError`
for input it cannot use: ``main`` prints that as one line on stderr and exits 2
(4 for a rack another session holds, :class:`~benches.cli.exits.RackBusyError`),
never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from benches.cli.exits import EXIT_USAGE, CommandError
from benches.redaction.printable import printable

# Each command's name and the module that provides its register(subparsers).
COMMANDS = {
    "analyze": "benches.cli.analyze",
    "signoff": "benches.cli.signoff",
    "discover": "benches.cli.discover",
    "report": "benches.cli.report",
    "merge": "benches.cli.merge",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or only ``command``'s when it names one."""
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Release gate for phone-firmware privacy.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(COMMANDS.values())
    for module in modules:
        importlib.import_module(module).register(subparsers)
    return parser


def entry() -> NoReturn:
    """``bench`` and ``python -m benches``: :func:`main`, then exit with its code.

    A command may end the process itself, with :func:`~benches.cli.exits.exit_now`, once
    its output is written: ``args.exit_when_done`` tells it that nothing runs after it.
    """
    raise SystemExit(main(sys.argv[1:], exit_when_done=True))


def main(argv: Sequence[str] | None = None, *, exit_when_done: bool = False) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    args.exit_when_done = exit_when_done
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    # scapy reports odd records as warnings; the commands count them instead.
    logging.getLogger("scapy").setLevel(logging.ERROR)
    try:
        code: int = args.func(args)
    except CommandError as error:
        message = printable(" ".join(str(error).split()))  # a pcap's name, a database's text
        print(f"bench: error: {message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``bench analyze ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_USAGE
    return code
