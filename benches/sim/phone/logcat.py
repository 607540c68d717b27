"""The virtual phone's log buffer, and `logcat` as adb shell runs it.

Lines are in logcat's threadtime format (`MM-DD HH:MM:SS.mmm  PID  TID P Tag: text`),
so the bench reads a virtual phone's log exactly as a real one's. Only the
dump (`-d`) and clear (`-c`) forms are served: the bench never streams.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

BUFFER_LINES = 4000  # a real main buffer holds 256 KiB; this is of that order
SYSTEM_SERVER_PID = 1234


class LogBuffer:
    def __init__(self) -> None:
        self._lines: deque[str] = deque(maxlen=BUFFER_LINES)
        self._lock = threading.Lock()

    def add(self, priority: str, tag: str, text: str, pid: int = SYSTEM_SERVER_PID) -> None:
        now = time.time()
        stamp = time.strftime("%m-%d %H:%M:%S", time.localtime(now))
        millis = int(now * 1000) % 1000
        line = f"{stamp}.{millis:03d} {pid:5d} {pid:5d} {priority} {tag}: {text}"
        with self._lock:
            self._lines.append(line)

    def dump(self) -> str:
        with self._lock:
            return "".join(f"{line}\n" for line in self._lines)

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()


def logcat_command(buffer: LogBuffer) -> Callable[[list[str]], tuple[str, int]]:
    def logcat(args: list[str]) -> tuple[str, int]:
        words = list(args)
        if "-c" in words:
            buffer.clear()
            return "", 0
        if "-d" not in words:
            return "logcat: the virtual phone only dumps its buffer (logcat -d)\n", 1
        return buffer.dump(), 0

    return logcat
