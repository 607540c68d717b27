"""The shell commands that touch a virtual phone's file tree: ls, cp, mount, nsenter, pidof,
and chmod/chown/chcon (accepted as root: the tree keeps no owners or labels).

Enough for HTTP Toolkit's way of adding a CA on Android 14+: a tmpfs over
/system/etc/security/cacerts holding the store's CAs and the new one, bind-mounted
over /apex/com.android.conscrypt/cacerts in zygote's mount namespace. No globs,
pipes or substitutions: the bench passes every path as an argument.
"""

from __future__ import annotations

from collections.abc import Callable

from benches.sim.adbd.files import FileRefused, PhoneFiles
from benches.sim.phone.shell import Command

ZYGOTE_PIDS = {"zygote": "612", "zygote64": "611"}
PERMISSION_DENIED = "Permission denied\n"


def file_commands(files: PhoneFiles, is_root: Callable[[], bool]) -> dict[str, Command]:
    def ls(args: list[str]) -> tuple[str, int]:
        paths = [word for word in args if not word.startswith("-")] or ["/"]
        try:
            return "".join(name + "\n" for path in paths for name in files.list(path)), 0
        except FileRefused as error:
            return f"{error}\n", 1

    def cp(args: list[str]) -> tuple[str, int]:
        words = [word for word in args if not word.startswith("-")]
        if len(words) < 2:
            return "usage: cp SOURCE... DEST\n", 1
        if not is_root():
            return f"cp: {PERMISSION_DENIED}", 1
        try:
            for source in words[:-1]:
                files.copy(source, words[-1])
        except FileRefused as error:
            return f"{error}\n", 1
        return "", 0

    def mount(args: list[str]) -> tuple[str, int]:
        if not is_root():
            return f"mount: {PERMISSION_DENIED}", 1
        try:
            if len(args) == 4 and args[:2] == ["-t", "tmpfs"]:
                files.mount_tmpfs(args[3])
                return "", 0
            if len(args) == 3 and args[0] == "--bind":
                files.mount_bind(args[1], args[2])
                return "", 0
        except FileRefused as error:
            return f"{error}\n", 1
        return "usage: mount -t tmpfs tmpfs DIR | mount --bind SOURCE DIR\n", 1

    def nsenter(args: list[str]) -> tuple[str, int]:
        # nsenter --mount=/proc/PID/ns/mnt -- /bin/mount ...: one namespace here.
        if len(args) < 3 or not args[0].startswith("--mount=/proc/") or args[1] != "--":
            return "usage: nsenter --mount=/proc/PID/ns/mnt -- COMMAND...\n", 1
        pid = args[0].split("/")[2]
        if pid not in ZYGOTE_PIDS.values():
            return f"nsenter: cannot open {args[0][8:]}: No such file or directory\n", 1
        if args[2] not in ("mount", "/bin/mount", "/system/bin/mount"):
            return f"nsenter: {args[2]}: not simulated\n", 127
        return mount(args[3:])

    def pidof(args: list[str]) -> tuple[str, int]:
        pids = [ZYGOTE_PIDS[name] for name in args if name in ZYGOTE_PIDS]
        return (" ".join(pids) + "\n", 0) if pids else ("", 1)

    def accepted(name: str) -> Command:
        def run(args: list[str]) -> tuple[str, int]:
            return ("", 0) if is_root() else (f"{name}: {PERMISSION_DENIED}", 1)

        return run

    return {
        "ls": ls,
        "cp": cp,
        "mount": mount,
        "nsenter": nsenter,
        "pidof": pidof,
        "chmod": accepted("chmod"),
        "chown": accepted("chown"),
        "chcon": accepted("chcon"),
    }
