"""The virtual phone's shell: the commands the bench uses, answered from the phone's state.

adb's legacy shell service hands us one command line; adbutils appends
`; echo X4EXIT:$?` to learn the exit code, so we honour `;`, `&&`, `||` and
`$?` the way /system/bin/sh does. Pipes and redirections are not simulated:
the bench parses output in Python, never on the phone.

This module is the shell itself; the system commands (input, dumpsys,
settings, am, ...) are added by `benches.sim.phone.system_commands.install`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping

from benches.sim.adbd.protocols import ShellResult
from benches.sim.network.client import NetworkUnreachable, PhoneNetwork
from benches.sim.phone.state import PhoneState

Command = Callable[[list[str]], tuple[str, int]]


class PhoneShell:
    def __init__(
        self,
        state: PhoneState,
        network: PhoneNetwork,
        reboot: Callable[[str], None],
        extra: Mapping[str, Command] | None = None,  # more commands, e.g. telephony.py's
    ) -> None:
        self.state = state
        self.network = network
        self.reboot = reboot
        self.commands: dict[str, Command] = {
            "getprop": self._getprop,
            "reboot": self._reboot,
            "ping": self._ping,
            "echo": lambda args: (" ".join(args) + "\n", 0),
            "true": lambda args: ("", 0),
        }
        self.commands.update(extra or {})

    def run(self, command_line: str) -> ShellResult:
        output, status = [], 0
        try:
            sequence = _split_sequence(command_line)
        except ValueError as error:
            return ShellResult(f"/system/bin/sh: syntax error: {error}\n".encode(), 2)
        for operator, words in sequence:
            if (operator == "&&" and status != 0) or (operator == "||" and status == 0):
                continue
            words = [word.replace("$?", str(status)) for word in words]
            text, status = self._run_one(words)
            output.append(text)
        return ShellResult("".join(output).encode(), status)

    def _run_one(self, words: list[str]) -> tuple[str, int]:
        if not words:
            return "", 0
        command = self.commands.get(words[0])
        if command is None:
            return f"/system/bin/sh: {words[0]}: inaccessible or not found\n", 127
        return command(words[1:])

    def _getprop(self, args: list[str]) -> tuple[str, int]:
        if not args:
            lines = (f"[{key}]: [{value}]\n" for key, value in sorted(self.state.props.items()))
            return "".join(lines), 0
        return self.state.props.get(args[0], args[1] if len(args) > 1 else "") + "\n", 0

    def _reboot(self, args: list[str]) -> tuple[str, int]:
        self.reboot(args[0] if args else "")
        return "", 0

    def _ping(self, args: list[str]) -> tuple[str, int]:
        count, host = 1, None
        words = iter(args)
        for word in words:
            if word == "-c":
                count = int(next(words, "1"))
            elif word in ("-W", "-w", "-i"):
                next(words, None)
            else:
                host = word
        if host is None:
            return "usage: ping [-c count] [-W timeout] host\n", 2
        try:
            result = self.network.ping(host, count)
        except NetworkUnreachable:
            return "connect: Network is unreachable\n", 2
        if result.address is None:
            return f"ping: unknown host {host}\n", 2
        lost = count - result.replies
        summary = (
            f"PING {host} ({result.address}) 56(84) bytes of data.\n"
            f"--- {host} ping statistics ---\n"
            f"{count} packets transmitted, {result.replies} received, "
            f"{100 * lost // count}% packet loss\n"
        )
        return summary, 0 if result.replies else 1


def _split_sequence(command_line: str) -> list[tuple[str, list[str]]]:
    """[(operator before it, words)] for `a; b && c || d`."""
    lexer = shlex.shlex(command_line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    sequence: list[tuple[str, list[str]]] = []
    operator, words = ";", list[str]()
    for token in lexer:
        if token in (";", "&&", "||"):
            sequence.append((operator, words))
            operator, words = token, []
        elif token in ("|", "&") or set(token) <= set(";&|"):
            raise ValueError(f"unsupported operator {token!r}")
        else:
            words.append(token)
    sequence.append((operator, words))
    return sequence
