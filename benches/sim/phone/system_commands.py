"""The virtual phone's system commands: input, dumpsys, settings, svc, am, wm, cmd, id, su.

They answer from the phone's state (`PhoneState`), move its keyguard
(`Keyguard`) and tell the phone (`PhoneHooks`) when something it reacts to
happened: a factory reset was asked for, provisioning or the network changed.

The adb shell runs as uid 2000 (shell), as on every real phone. `su` exists
only on a debuggable (userdebug) build, where AOSP's su lets the shell user
become root; that is how the bench sends the FACTORY_RESET broadcast, which
Android accepts from root and system only (see docs/architecture.md).

`install()` adds the commands to a `PhoneShell`. Where the shell already has a
command of the same name (another part's `dumpsys` or `cmd`), ours answers what
it knows and hands the rest to that one.
"""

from __future__ import annotations

import contextlib
import shlex
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from benches.sim.network.client import PhoneNetwork
from benches.sim.phone import dumpsys
from benches.sim.phone.keyguard import Keyguard, keycode, locksettings
from benches.sim.phone.shell import Command, PhoneShell
from benches.sim.phone.state import PhoneState

FACTORY_RESET = "android.intent.action.FACTORY_RESET"
VIEW = "android.intent.action.VIEW"
PROTECTED_BROADCASTS = (FACTORY_RESET, "android.intent.action.MASTER_CLEAR")
SHELL_ID = (
    "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
    "1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet) "
    "context=u:r:shell:s0"
)
ROOT_ID = "uid=0(root) gid=0(root) groups=0(root) context=u:r:su:s0"
INPUT_SOURCES = ("keyboard", "touchscreen", "touchpad", "dpad", "mouse", "trackball")

MaybeCommand = Callable[[list[str]], "tuple[str, int] | None"]


@dataclass(frozen=True)
class PhoneHooks:
    """What the phone does when the shell asks for it."""

    factory_reset: Callable[[], None]  # the FACTORY_RESET broadcast reached the system
    changed: Callable[[], None]  # provisioning or the network may have changed


class SystemCommands:
    def __init__(
        self,
        state: PhoneState,
        network: PhoneNetwork,
        keyguard: Keyguard,
        hooks: PhoneHooks,
        *,
        debuggable: bool,
    ) -> None:
        self.state = state
        self.network = network
        self.keyguard = keyguard
        self.hooks = hooks
        self.debuggable = debuggable
        self._caller = threading.local()  # `su` makes the commands it runs root, per thread
        self.shell: PhoneShell | None = None
        self.adbd_root: Callable[[], bool] = lambda: False  # `adb root`: every command is root

    def table(self) -> dict[str, MaybeCommand]:
        table: dict[str, MaybeCommand] = {
            "input": self._input,
            "dumpsys": self._dumpsys,
            "settings": self._settings,
            "svc": self._svc,
            "am": self._am,
            "wm": self._wm,
            "locksettings": lambda args: locksettings(self.state, args),
            "cmd": self._cmd,
            "id": self._id,
        }
        if self.debuggable:
            table["su"] = self._su
        return table

    @property
    def root(self) -> bool:
        return bool(getattr(self._caller, "root", False)) or self.adbd_root()

    def _input(self, args: list[str]) -> tuple[str, int]:
        words = args[1:] if args and args[0] in INPUT_SOURCES else args
        if len(words) >= 2 and words[0] == "keyevent":
            codes = [keycode(word) for word in words[1:] if word != "--longpress"]
            for word, code in zip(words[1:], codes, strict=False):
                if code is None:
                    return f"Error: Unknown keycode: {word}\n", 1
            for code in codes:
                assert code is not None
                self.keyguard.key(code)
            return "", 0
        if len(words) == 2 and words[0] == "text":
            self.keyguard.text(words[1].replace("%s", " "))
            return "", 0
        if words and words[0] in ("tap", "swipe"):
            return "", 0
        return "Usage: input [<source>] <command> [<arg>...]\n", 1

    def _dumpsys(self, args: list[str]) -> tuple[str, int] | None:
        text = dumpsys.dump(self.state, args)
        return None if text is None else (text, 0)

    def _settings(self, args: list[str]) -> tuple[str, int]:
        words = args[2:] if args[:1] == ["--user"] else args
        if len(words) == 3 and words[0] == "get" and words[1] in self.state.settings:
            return self.state.settings[words[1]].get(words[2], "null") + "\n", 0
        if len(words) == 4 and words[0] == "put" and words[1] in self.state.settings:
            self.state.settings[words[1]][words[2]] = words[3]
            self.hooks.changed()
            return "", 0
        return "usage: settings [--user <id>] get|put global|secure|system NAME [VALUE]\n", 255

    def _svc(self, args: list[str]) -> tuple[str, int]:
        if len(args) == 2 and args[0] in ("wifi", "data") and args[1] in ("enable", "disable"):
            setattr(self.state, f"{args[0]}_enabled", args[1] == "enable")
            self.network.enabled = self.state.network_up
            self.hooks.changed()
            return "", 0
        return "usage: svc [wifi|data] [enable|disable]\n", 1

    def _am(self, args: list[str]) -> tuple[str, int]:
        if args[:1] == ["start"]:
            return self._am_start(args[1:])
        if not args or args[0] != "broadcast":
            return "usage: am broadcast [--receiver-foreground] -a ACTION [-p PACKAGE]\n", 255
        options = _options(args[1:])
        action, package = options.get("-a", ""), options.get("-p")
        flags = 0x10400000 if "--receiver-foreground" in args else 0x400000
        target = f" pkg={package}" if package else ""
        said = f"Broadcasting: Intent {{ act={action} flg=0x{flags:x}{target} }}\n"
        if action in PROTECTED_BROADCASTS and not self.root:
            return said + (
                "Exception occurred while executing 'broadcast':\n"
                "java.lang.SecurityException: Permission Denial: not allowed to send broadcast "
                f"{action} from pid=4312, uid=2000\n"
            ), 255
        # Since Android 8 an implicit broadcast no longer reaches MasterClearReceiver.
        if action == FACTORY_RESET and package == "android":
            self.hooks.factory_reset()
        return said + "Broadcast completed: result=0\n", 0

    def _am_start(self, args: list[str]) -> tuple[str, int]:
        """`am start -a android.intent.action.VIEW -d https://host/path`: the browser loads
        the page (over TLS with the system store), in the background as on a phone."""
        options = _options(args)
        action, url = options.get("-a", ""), options.get("-d", "")
        parsed = urllib.parse.urlsplit(url)
        if action != VIEW or parsed.scheme not in ("http", "https") or not parsed.hostname:
            return "Error: Activity not started, unable to resolve Intent\n", 1
        host, path = parsed.hostname, parsed.path or "/"
        tls = parsed.scheme == "https"

        def browse() -> None:
            with contextlib.suppress(OSError):
                self.network.http(host, "GET", path, tls=tls)

        threading.Thread(target=browse, name="sim-browser", daemon=True).start()
        return f"Starting: Intent {{ act={action} dat={parsed.scheme}://{host}/... }}\n", 0

    def _wm(self, args: list[str]) -> tuple[str, int]:
        if args == ["dismiss-keyguard"]:
            self.keyguard.dismiss()
            return "", 0
        if args == ["size"]:
            return "Physical size: 1080x2160\n", 0
        return "usage: wm [size|dismiss-keyguard]\n", 255

    def _cmd(self, args: list[str]) -> tuple[str, int] | None:
        if args[:1] == ["lock_settings"]:
            return locksettings(self.state, args[1:])
        if args[:1] == ["settings"]:
            return self._settings(args[1:])
        return None

    def _id(self, args: list[str]) -> tuple[str, int]:
        if args == ["-u"]:
            return ("0" if self.root else "2000") + "\n", 0
        return (ROOT_ID if self.root else SHELL_ID) + "\n", 0

    def _su(self, args: list[str]) -> tuple[str, int]:
        if len(args) < 2 or self.shell is None:
            return "su: interactive shell not supported by this virtual device\n", 1
        if args[0] not in ("0", "root"):
            return f"su: unknown user {args[0]}\n", 1
        outer = self.root
        self._caller.root = True
        try:
            result = self.shell.run(shlex.join(args[1:]))
        finally:
            self._caller.root = outer
        return result.output.decode(), result.exit_code


def _options(words: list[str]) -> dict[str, str]:
    options, pending = {}, None
    for word in words:
        if pending:
            options[pending], pending = word, None
        elif word in ("-a", "-p", "-n", "-d", "--user"):
            pending = word
    return options


FALLBACKS = {
    "dumpsys": lambda args: (f"Can't find service: {args[0] if args else ''}\n", 0),
    "cmd": lambda args: (f"cmd: Can't find service: {args[0] if args else ''}\n", 20),
}


def install(shell: PhoneShell, commands: SystemCommands) -> None:
    """Add `commands` to `shell`; a command it already has answers what ours does not know."""
    commands.shell = shell
    for name, mine in commands.table().items():
        shell.commands[name] = _chained(mine, shell.commands.get(name) or FALLBACKS.get(name))


def _chained(mine: MaybeCommand, other: Command | None) -> Command:
    def command(args: list[str]) -> tuple[str, int]:
        result = mine(args)
        if result is None:
            return other(args) if other else ("", 0)
        return result

    return command
