"""virtual.faults: what goes wrong with which virtual phone, for tests of the bench's recovery."""

from __future__ import annotations

from benches.inventory import validators
from benches.inventory.nodes import Cursor
from benches.inventory.virtual import FAULT_KINDS, VIRTUAL_SDKS, Fault

# The keys each kind needs beyond serial and kind, and the ones it may have.
_KIND_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "hang_at_boot": (set(), {"boot"}),
    "never_return": (set(), {"boot"}),
    "drop_adb": (set(), {"boot", "after_s", "back_after_s"}),
    "wrong_build": ({"fingerprint"}, set()),
    "other_imei": ({"imei"}, set()),
    "android_release": ({"sdk"}, set()),
    "oem_subinfo": (set(), set()),
}


def read_fault(cursor: Cursor) -> tuple[Fault, Cursor]:
    """A fault, and where it is (the serial is checked once the devices are known)."""
    readers = {
        "serial": lambda c: c.checked(validators.word),
        "kind": _kind,
        "boot": _boot,
        "after_s": _seconds,
        "back_after_s": _seconds,
        "fingerprint": lambda c: c.checked(validators.word),
        "imei": lambda c: c.list_of(lambda item: item.checked(validators.imei)),
        "sdk": _sdk,
    }
    values = cursor.fields(
        required={key: readers[key] for key in ("serial", "kind")},
        optional={key: reader for key, reader in readers.items() if key not in ("serial", "kind")},
    )
    needed, allowed = _KIND_KEYS[values["kind"]]
    present = set(values) - {"serial", "kind"}
    missing, extra = sorted(needed - present), sorted(present - needed - allowed)
    if missing:
        raise cursor.child(cursor.node, missing[0]).error(f"a {values['kind']} fault needs it")
    if extra:
        key = extra[0]
        raise cursor.child(cursor.node, key).error(f"a {values['kind']} fault has no {key}")
    return Fault(**values), cursor


def check_fault_serials(faults: tuple[tuple[Fault, Cursor], ...], serials: set[str]) -> None:
    for fault, cursor in faults:
        if fault.serial not in serials:
            raise cursor.child(cursor.node, "serial").error(
                f"no device {fault.serial} in devices[] (devices: {', '.join(sorted(serials))})"
            )


def _kind(cursor: Cursor) -> str:
    text = cursor.string()
    if text not in FAULT_KINDS:
        raise cursor.error(f"unknown fault {text!r} (known: {', '.join(FAULT_KINDS)})")
    return text


def _boot(cursor: Cursor) -> int:
    value = cursor.integer()
    if value < 1:
        raise cursor.error(f"boots count from 1 (the power-on at rack start), not {value}")
    return value


def _sdk(cursor: Cursor) -> int:
    value = cursor.integer()
    if value not in VIRTUAL_SDKS:
        raise cursor.error(
            f"a virtual phone runs SDK {VIRTUAL_SDKS.start} to {VIRTUAL_SDKS.stop - 1}, not {value}"
        )
    return value


def _seconds(cursor: Cursor) -> float:
    value = cursor.number()
    if value < 0:
        raise cursor.error(f"{cursor.node.value} must not be negative")
    return value
