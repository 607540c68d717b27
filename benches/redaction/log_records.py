"""Every log record masked as it is made: a log record factory wrapping the current one.

Its string arguments are escaped first (:func:`~benches.redaction.printable.printable`):
they carry names from captures, databases and phones, and a newline in one
would forge a log line, an escape sequence recolour the terminal.

The message is formatted once and masked (``record.msg`` becomes the masked
text, ``record.args`` empty) only when masking changed it; a traceback
attached to the record is formatted and masked too. Handlers, pytest's log
capture and Allure's "log" attachment then only ever see masked text.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from benches.redaction.printable import printable

Scrub = Callable[[str], str]
Factory = Callable[..., logging.LogRecord]

_lock = threading.Lock()
_previous: Factory | None = None
_scrub: Scrub | None = None


def install(scrub: Scrub) -> None:
    """Mask every record from now on with ``scrub``; installing again only swaps ``scrub``."""
    global _previous, _scrub
    with _lock:
        _scrub = scrub
        if _previous is None:
            _previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_masking_factory)


def uninstall() -> None:
    global _previous, _scrub
    with _lock:
        if _previous is not None and logging.getLogRecordFactory() is _masking_factory:
            logging.setLogRecordFactory(_previous)
            _previous = None
        _scrub = None


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    make: Factory = _previous or logging.LogRecord
    record = make(*args, **kwargs)
    escape_arguments(record)
    scrub = _scrub
    if scrub is not None:
        mask_record(record, scrub)
    return record


def escape_arguments(record: logging.LogRecord) -> None:
    """The record's string arguments made printable; the format string is the bench's own."""
    if isinstance(record.args, tuple) and any(isinstance(a, str) for a in record.args):
        record.args = tuple(printable(a) if isinstance(a, str) else a for a in record.args)


def mask_record(record: logging.LogRecord, scrub: Scrub) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it when the record is emitted
        return
    masked = scrub(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if scrub(text) != text:  # else the handler's formatter formats it its own way
            record.exc_text = scrub(text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
