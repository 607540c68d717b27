"""How a ``bench`` command ends: :class:`CommandError` for input it cannot use (one line
on stderr, exit 2, never a traceback), :class:`RackBusyError` for a rack another session
holds (one line, exit 4), or :func:`exit_now` once all its output is out.

Exit codes of every command: 0 pass / GO, 1 fail / NO-GO (a leak), 2 inconclusive or
input it cannot use, 4 the rack (or its adb server, a relay or console port, its
gateway interface) is in use by another session (``--wait`` waits for it instead).
pytest's own usage-error exit is 4 too, so a sign-off session run by hand and
``bench signoff`` agree.

A leaf: the subcommands raise and call these without importing ``cli.main``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn

EXIT_USAGE = 2
EXIT_RACK_IN_USE = 4


class CommandError(Exception):
    """Input a command cannot use; str() is one line for the user."""

    exit_code = EXIT_USAGE


class RackBusyError(CommandError):
    """Another session holds the rack; str() says what, by whom and since when."""

    exit_code = EXIT_RACK_IN_USE


def exit_now(code: int) -> NoReturn:
    """End the process at once, once everything written is out (the output, the logs).

    What ``bench analyze`` leaves behind is only memory: the interpreter's
    teardown would free it object by object (the analysis, the geo database),
    a few tenths of a second for nothing.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)
