"""A phone's logcat over one cycle's window: cleared when it opens, dumped when it closes.

The dump is evidence beside the pcap: owner-only, with the rack's identifiers
masked (apps log IMEIs more often than they should).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from benches.rack.adb.phone import Phone, PhoneError
from benches.redaction.rack_masker import scrub_file

log = logging.getLogger(__name__)


@contextlib.contextmanager
def logcat_window(phone: Phone, path: Path) -> Iterator[Path]:
    """Yields where the dump will be; a phone that cannot be read leaves a note there instead."""
    try:
        phone.clear_logcat()
    except PhoneError as error:
        log.warning("%s", error)
    try:
        yield path
    finally:
        try:
            text = phone.dump_logcat()
        except PhoneError as error:
            text = f"# logcat not read at the end of the window: {error}\n"
        _write_private(path, text)
        scrub_file(path)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text if text.endswith("\n") or not text else text + "\n")
