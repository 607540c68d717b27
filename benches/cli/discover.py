"""``bench discover --adb HOST:PORT [--output FILE] [--force]``: a devices.yaml for attached phones.

Lists the phones an adb server knows, reads each one's identity, model, serial,
Wi-Fi MAC and wlan0 address, and writes a devices.yaml skeleton that
`load_rack` accepts once a person has put the bench's own coordinates in
(benches/rack/discovery.py says what is a placeholder). It never overwrites a
file without `--force`, and checks that the rest of what it wrote loads.

Progress goes to stderr, a summary to stdout; identifiers on the terminal are
masked, while the file holds them raw: it is the inventory. Exit 0 when every
phone is in the file, 1 when some were left out, 2 for input it cannot use, 4 when
a session holds the adb server (its rack is in use; ``--wait`` waits for it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import adbutils

from benches.cli.exits import CommandError
from benches.cli.rack_lock import hold_adb_server
from benches.inventory import InventoryError, load_rack
from benches.inventory.validators import InvalidValue, host_port
from benches.rack.adb.phone import PhoneError
from benches.rack.discovery import (
    DiscoveredPhone,
    as_filled_in,
    discover_phone,
    display_name,
    render_rack,
    split_usable,
)
from benches.rack.identity.harvest import HarvestError
from benches.redaction.masks import identifier_label, mask
from benches.redaction.safe_files import UnsafePath, write_file

SHELL_TIMEOUT_S = 15.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="write a devices.yaml skeleton for the phones attached to an adb server",
        description=(
            "Read the identity of every phone attached to an adb server and write a "
            "devices.yaml skeleton. Exit 0 all phones written, 1 some left out, 2 unusable input, "
            "4 a session holds the adb server."
        ),
    )
    parser.add_argument("--adb", required=True, metavar="HOST:PORT", help="the adb server")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("devices.yaml"),
        metavar="FILE",
        help="where to write (default: devices.yaml)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="when a session holds the adb server's rack, wait for it instead of stopping (exit 4)",
    )
    parser.set_defaults(func=run)


class AttachedPhone:
    """A phone as the adb server lists it, with the shell the harvest needs."""

    def __init__(self, device: adbutils.AdbDevice, name: str) -> None:
        self.device = device
        self.name = name

    @property
    def serial(self) -> str:
        return self.name

    def shell(self, args: list[str]) -> str:
        try:
            return str(self.device.shell(args, timeout=SHELL_TIMEOUT_S))
        except (adbutils.AdbError, OSError) as error:
            raise PhoneError(f"{self.name}: `{' '.join(args)}` failed: {error}") from None


def run(args: argparse.Namespace) -> int:
    try:
        host, port = host_port(args.adb)
    except InvalidValue as error:
        raise CommandError(f"--adb: {error}") from None
    output: Path = args.output
    if output.exists() and not args.force:
        raise CommandError(f"{output} exists: pass --force to overwrite it")
    # A session driving phones on this server (a factory reset, a power cycle) and
    # this command's shells into them must not interleave: hold the server first.
    with hold_adb_server(host, port, wait=args.wait, command="discover"):
        return _discover(args, host, port, output)


def _discover(args: argparse.Namespace, host: str, port: int, output: Path) -> int:
    client = _client(host, port)
    phones, failed = _read_phones(client, host, port)
    usable, left_out = split_usable(phones)
    unusable = [f"left out: {display_name(p.adb_serial)}: {why}" for p, why in left_out]
    for note in unusable:
        _progress(note)
    notes = failed + unusable
    if not usable:
        raise CommandError(f"no phone could be written to {output}: " + "; ".join(notes))
    _write(output, render_rack(usable, host, port, notes), args.force)
    for phone in usable:
        print(_summary(phone))
    print(
        f"wrote {output}: {len(usable)} phones; fill in the lines marked TODO"
        " (it will not load before bench.location holds the bench's own coordinates)"
    )
    return 1 if notes else 0


def _client(host: str, port: int) -> adbutils.AdbClient:
    """The server's client; checked first, as adbutils would start a server of its own."""
    try:
        socket.create_connection((host, port), timeout=3.0).close()
    except OSError as error:
        reason = error.strerror or str(error)
        raise CommandError(
            f"no adb server answers at {host}:{port} ({reason}): "
            f"start one with `adb -P {port} start-server`"
        ) from None
    return adbutils.AdbClient(host=host, port=port)


def _read_phones(
    client: adbutils.AdbClient, host: str, port: int
) -> tuple[list[DiscoveredPhone], list[str]]:
    try:
        attached = client.list()
    except (adbutils.AdbError, OSError) as error:
        raise CommandError(f"adb server {host}:{port}: {error}") from None
    if not attached:
        raise CommandError(f"no phones attached to the adb server at {host}:{port}")
    phones: list[DiscoveredPhone] = []
    failed: list[str] = []
    for info in attached:
        name = display_name(info.serial)
        if info.state != "device":
            failed.append(f"left out: {name}: adb says {info.state}")
            _progress(failed[-1])
            continue
        _progress(f"{name}: reading its identity")
        try:
            phone = discover_phone(
                AttachedPhone(client.device(serial=info.serial), name), info.serial
            )
        except (PhoneError, HarvestError) as error:
            failed.append(f"left out: {' '.join(str(error).split())}")
            _progress(failed[-1])
            continue
        for field, reason in phone.identity.missing.items():
            _progress(f"{name}: no {identifier_label(field)}: {reason}")
        phones.append(phone)
    return phones, failed


def _write(output: Path, text: str, force: bool) -> None:
    """Check the skeleton loads, then write it (never over a file without force)."""
    directory = output.parent
    if not directory.is_dir():
        raise CommandError(f"{directory} is not a directory")
    handle, name = tempfile.mkstemp(prefix=".discover-", suffix=".yaml", dir=directory)
    draft = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(as_filled_in(text))
        try:
            load_rack(draft)
        except InventoryError as error:  # a bug here, not the user's: name the spot, not the value
            raise CommandError(
                f"bench discover made a devices.yaml the loader refuses at line {error.line}, "
                f"key {error.key}: please report this"
            ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()
    if not force and os.path.lexists(output):
        raise CommandError(f"{output} exists: pass --force to overwrite it")
    try:
        # A new file renamed over the name: a link there is replaced, not written through.
        write_file(output, text, root=directory)
    except UnsafePath as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write {output}: {error.strerror or error}") from None


def _summary(phone: DiscoveredPhone) -> str:
    identity = phone.identity
    parts = [display_name(phone.adb_serial), phone.model or "model unknown"]
    parts.append("IMEI " + ", ".join(mask(imei) for imei in identity.imei))
    for field in ("iccid", "imsi", "serial", "wifi_mac"):
        value = getattr(identity, field)
        parts.append(f"{identifier_label(field)} {mask(value) if value else 'none'}")
    return "  ".join(parts)


def _progress(line: str) -> None:
    print(f"bench discover: {line}", file=sys.stderr)
