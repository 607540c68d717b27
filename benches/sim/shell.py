"""The virtual phone's shell: the commands the bench uses, answered from the phone's state.

adb's legacy shell service hands us one command line; adbutils appends
`; echo X4EXIT:$?` to learn the exit code, so we honour `;`, `&&`, `||` and
`$?` the way /system/bin/sh does. Pipes and redirections are not simulated:
the bench parses output in Python, never on the phone.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from benches.sim.adbd import ShellResult
from benches.sim.netclient import NetworkUnreachable, PhoneNetwork
from benches.sim.state import PhoneState

KEYCODES = {"KEYCODE_POWER": 26, "KEYCODE_MENU": 82, "KEYCODE_SLEEP": 223, "KEYCODE_WAKEUP": 224}

Command = Callable[[list[str]], tuple[str, int]]


class PhoneShell:
    def __init__(
        self, state: PhoneState, network: PhoneNetwork, reboot: Callable[[str], None]
    ) -> None:
        self.state = state
        self.network = network
        self.reboot = reboot
        self.commands: dict[str, Command] = {
            "getprop": self._getprop,
            "input": self._input,
            "dumpsys": self._dumpsys,
            "settings": self._settings,
            "svc": self._svc,
            "reboot": self._reboot,
            "ping": self._ping,
            "echo": lambda args: (" ".join(args) + "\n", 0),
            "true": lambda args: ("", 0),
        }

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

    def _input(self, args: list[str]) -> tuple[str, int]:
        if len(args) != 2 or args[0] != "keyevent":
            return "Usage: input keyevent <key code number or name>\n", 1
        code = KEYCODES.get(args[1]) or (int(args[1]) if args[1].isdigit() else None)
        if code is None:
            return f"Error: Unknown keycode: {args[1]}\n", 1
        state = self.state
        if code == 26:
            state.screen_on = not state.screen_on
        elif code == 224:
            state.screen_on = True
        elif code == 223:
            state.screen_on = False
        elif code == 82 and state.screen_on:
            state.keyguard_locked = False
        if not state.screen_on:
            state.keyguard_locked = True
        return "", 0

    def _dumpsys(self, args: list[str]) -> tuple[str, int]:
        state = self.state
        service = args[0] if args else ""
        if service == "power":
            wakefulness = "Awake" if state.screen_on else "Asleep"
            return f"POWER MANAGER (dumpsys power)\n  mWakefulness={wakefulness}\n", 0
        if service == "window":
            locked = str(state.keyguard_locked).lower()
            return f"WINDOW MANAGER POLICY STATE\n    mShowingLockscreen={locked}\n", 0
        if service == "battery":
            return f"Current Battery Service state:\n  level: {state.battery_level}\n", 0
        if service == "connectivity":
            up = state.wifi_enabled or state.data_enabled
            return f"Active default network: {'100' if up else 'none'}\n", 0
        return f"Can't find service: {service}\n", 0

    def _settings(self, args: list[str]) -> tuple[str, int]:
        if len(args) >= 3 and args[0] == "get" and args[1] in self.state.settings:
            return self.state.settings[args[1]].get(args[2], "null") + "\n", 0
        if len(args) == 4 and args[0] == "put" and args[1] in self.state.settings:
            self.state.settings[args[1]][args[2]] = args[3]
            return "", 0
        return "usage: settings [--user <id>] get|put global|secure|system NAME [VALUE]\n", 255

    def _svc(self, args: list[str]) -> tuple[str, int]:
        if len(args) == 2 and args[0] in ("wifi", "data") and args[1] in ("enable", "disable"):
            setattr(self.state, f"{args[0]}_enabled", args[1] == "enable")
            self.network.enabled = self.state.wifi_enabled or self.state.data_enabled
            return "", 0
        return "usage: svc [wifi|data] [enable|disable]\n", 1

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
