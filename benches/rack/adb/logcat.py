"""A phone's logcat over one cycle's window: cleared when it opens, dumped when it closes.

The dump is evidence beside the pcap: owner-only, with the rack's identifiers
masked (apps log IMEIs more often than they should). It is one of the
recorders around a cycle's window (`RecorderProtocol`): a phone that cannot
be cleared is logged, one that cannot be read leaves a note in the file
instead of its log, and `stop()` never raises.
"""

from __future__ import annotations

import logging
from pathlib import Path

from benches.rack.adb.phone import Phone, PhoneError
from benches.rack.protocols import RecorderProtocol
from benches.redaction.private_files import write_private_text
from benches.redaction.rack_masker import scrub_file

log = logging.getLogger(__name__)


class LogcatRecorder(RecorderProtocol):
    """`phone`'s log buffer between `start()` and `stop()`, dumped into `path`."""

    def __init__(self, phone: Phone, path: Path) -> None:
        self.phone = phone
        self.path = Path(path)
        self._written = False

    def start(self) -> None:
        try:
            self.phone.clear_logcat()
        except PhoneError as error:
            log.warning("%s", error)

    def stop(self) -> None:
        try:
            text = self.phone.dump_logcat()
        except PhoneError as error:
            text = f"# logcat not read at the end of the window: {error}\n"
        try:
            write_private_text(self.path, text if text.endswith("\n") or not text else text + "\n")
            self._written = True
            scrub_file(self.path)
        except OSError as error:
            log.error("%s: cannot write its logcat to %s: %s", self.phone.label, self.path, error)

    def excerpts(self) -> list[Path]:
        return [self.path] if self._written else []
