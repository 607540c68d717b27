"""The virtual phone's logcat: threadtime lines, dump and clear, as adb shell runs them."""

from __future__ import annotations

import re

from benches.sim.phone.logcat import LogBuffer, logcat_command

THREADTIME = re.compile(r"\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} +\d+ +\d+ [VDIWEF] [^:]+: .*")


def test_dump_is_threadtime_and_clear_empties_it() -> None:
    buffer = LogBuffer()
    logcat = logcat_command(buffer)
    buffer.add("I", "ActivityManager", "Boot completed")
    buffer.add("D", "FirmwareEvents", "boot delivered", pid=2345)

    text, status = logcat(["-d", "-v", "threadtime"])

    assert status == 0
    lines = text.splitlines()
    assert len(lines) == 2 and all(THREADTIME.fullmatch(line) for line in lines), lines
    assert lines[1].endswith(" 2345  2345 D FirmwareEvents: boot delivered")
    assert logcat(["-c"]) == ("", 0)
    assert logcat(["-d"]) == ("", 0)


def test_streaming_is_refused_rather_than_hanging() -> None:
    text, status = logcat_command(LogBuffer())([])

    assert status == 1 and "logcat -d" in text
