"""A deterministic measure of the work the bench does: lines of its code executed.

Wall and CPU time vary with the machine and its load; the number of lines of
``benches/`` that a call executes does not. A quadratic path shows in it as
surely as in a stopwatch: 4x the input, 16x the lines. Lines of the standard
library and of C code are not counted, so a loop inside a C call counts as
one line (the bench's loops are its own Python).

Counting slows the counted code several times over: measure small inputs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import benches

BENCHES = str(Path(benches.__file__).resolve().parent)


class _Spent(BaseException):  # not an Exception: no handler in the bench takes it
    """The count passed its limit: the rest of the work is not worth measuring."""


@dataclass(frozen=True)
class Work:
    lines: int  # lines of benches/ executed (up to the limit)
    stopped: bool  # the count reached the limit and the call was cut short


def count_lines(call: Callable[[], object], limit: int | None = None) -> Work:
    """Run ``call`` and count the lines of ``benches/`` it executes. With ``limit``, the
    call is stopped (by an exception raised inside it) once the count passes it."""
    lines = 0
    ceiling = limit if limit is not None else sys.maxsize

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > ceiling:
                raise _Spent
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(BENCHES) else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        call()
    except _Spent:
        return Work(lines, stopped=True)
    finally:
        sys.settrace(previous)
    return Work(lines, stopped=False)
