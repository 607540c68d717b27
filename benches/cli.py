"""The ``bench`` command (also ``python -m benches``).

Each subcommand lives in its own module with a ``register(subparsers)`` that
adds its parser and sets ``func``; add a module to :data:`COMMANDS` to add a
command. A command returns its exit code, and raises :class:`CommandError`
for input it cannot use: ``main`` prints that as one line on stderr and
exits 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

# Modules that each provide register(subparsers).
COMMANDS = ("benches.cli_analyze", "benches.cli_signoff")

EXIT_USAGE = 2


class CommandError(Exception):
    """Input a command cannot use; str() is one line for the user."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Release gate for phone-firmware privacy.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    # scapy reports odd records as warnings; the commands count them instead.
    logging.getLogger("scapy").setLevel(logging.ERROR)
    try:
        code: int = args.func(args)
    except CommandError as error:
        message = " ".join(str(error).split())
        print(f"bench: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``bench analyze ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_USAGE
    return code
