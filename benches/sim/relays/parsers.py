"""What a relay board makes of the bytes it receives, without any I/O.

`LcusParser` reads CH340 LCUS frames (A0, channel, state, checksum) as the
boards do: it hunts for the start byte, and a frame with a bad checksum, a
channel the board lacks or a state other than 00/01 is dropped and counted,
and the hunt resumes at the next byte. `AsciiParser` matches the commands the
board's templates spell, for each of its channels. Both turn bytes into
``(channel, closed)`` commands and may be fed any split of the stream.
"""

from __future__ import annotations

from benches.inventory.models import AsciiCommands

Command = tuple[int, bool]

LCUS_START = 0xA0
LCUS_FRAME_LEN = 4


class LcusParser:
    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.bad_frames = 0  # candidate frames (a start byte) that were rejected
        self.skipped_bytes = 0  # every byte that was not part of a good frame
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Command]:
        self._buffer += data
        commands: list[Command] = []
        buffer = self._buffer
        while buffer:
            start = buffer.find(LCUS_START)
            if start < 0:
                self.skipped_bytes += len(buffer)
                buffer.clear()
                break
            if start:
                self.skipped_bytes += start
                del buffer[:start]
            if len(buffer) < LCUS_FRAME_LEN:
                break
            _, channel, state, checksum = buffer[:LCUS_FRAME_LEN]
            good = (
                1 <= channel <= self.channels
                and state in (0x00, 0x01)
                and checksum == (LCUS_START + channel + state) & 0xFF
            )
            if good:
                commands.append((channel, state == 0x01))
                del buffer[:LCUS_FRAME_LEN]
            else:
                self.bad_frames += 1
                self.skipped_bytes += 1
                del buffer[:1]
        return commands


class AsciiParser:
    """Matches the spelled-out commands; text that matches none is skipped a byte at a time.

    A command that is also the start of a longer one (``ON1`` and ``ON10`` with
    no line end in the template) waits for the next byte to tell them apart.
    """

    def __init__(self, commands: AsciiCommands, channels: int) -> None:
        self.table: dict[bytes, Command] = {}
        for channel in range(1, channels + 1):
            for closed, template in ((True, commands.on), (False, commands.off)):
                spelled = template.format(channel=channel).encode("ascii", "replace")
                self.table[spelled] = (channel, closed)
        self.bad_frames = 0  # runs of bytes that matched no command
        self.skipped_bytes = 0
        self._buffer = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[Command]:
        self._buffer += data
        commands: list[Command] = []
        while self._buffer:
            buffer = self._buffer
            if any(len(c) > len(buffer) and c.startswith(buffer) for c in self.table):
                break  # a command may still be arriving
            matched = max((c for c in self.table if buffer.startswith(c)), key=len, default=None)
            if matched is not None:
                commands.append(self.table[matched])
                self._buffer = buffer[len(matched) :]
                self._skipping = False
                continue
            if not self._skipping and buffer[:1] not in (b"\r", b"\n"):
                self.bad_frames += 1
                self._skipping = True
            self.skipped_bytes += 1
            self._buffer = buffer[1:]
        return commands
