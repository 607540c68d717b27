"""How a ``bench`` command ends: :class:`CommandError` for input it cannot use (one line
on stderr, exit 2, never a traceback), or :func:`exit_now` once all its output is out.

A leaf: the subcommands raise and call these without importing ``cli.main``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn

EXIT_USAGE = 2


class CommandError(Exception):
    """Input a command cannot use; str() is one line for the user."""


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
