"""A virtual phone: adbd on its own loopback address, a shell, firmware, power and boots.

The phone's parts, each in its own module of this folder: its state (`state.py`),
screen and keyguard (`keyguard.py`), shell (`shell.py`) and system commands
(`system_commands.py`), telephony (`telephony.py`), power and boot
(`lifecycle.py`), injected faults (`fault_plan.py`) and UART lines
(`console_feed.py`); what its firmware sends at each event is in
`benches/sim/firmware/` (`behaviours.py`, run by `events.py`).

Power, as a rack wires it (docs/architecture.md, "Cycles and the phone's lifecycle"):

* `power_on()`: the rack's start: power present and the phone switched on (boot 1);
* `power_cut()`: everything stops at once; RAM state is lost, a boot in progress
  is abandoned and can never complete later;
* `power_restore()`: power back. A phone on a battery eliminator boots by itself
  when power comes back (QA racks set this up, e.g. `fastboot oem off-mode-charge 0`,
  so the phone does not sit in its charging screen); `boots_on_power=False`
  models one that waits for its power key;
* `press_power_button(seconds)`: off and powered: boots when held >= 0.5 s; on: a
  short press toggles the screen like KEYCODE_POWER; held >= 10 s: forced restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from benches.inventory.android import RELEASE_BY_SDK
from benches.inventory.models import Device, Identity, Manifest, Timings
from benches.inventory.virtual import Fault
from benches.sim.adbd.daemon import AdbDaemon
from benches.sim.adbd.files import PhoneFiles
from benches.sim.adbd.protocols import ShellResult
from benches.sim.firmware.behaviours import ACTIVATION, BOOT, UNLOCK, Firmware, PhoneFacts
from benches.sim.firmware.events import FirmwareEvents
from benches.sim.network.client import PhoneNetwork
from benches.sim.network.trust import TrustStore
from benches.sim.phone.console_feed import ConsoleFeed
from benches.sim.phone.fault_plan import FaultPlan
from benches.sim.phone.file_commands import file_commands
from benches.sim.phone.keyguard import POWER, Keyguard
from benches.sim.phone.lifecycle import BootHooks, Lifecycle
from benches.sim.phone.logcat import LogBuffer, logcat_command
from benches.sim.phone.shell import PhoneShell
from benches.sim.phone.state import PhoneState
from benches.sim.phone.system_commands import PhoneHooks, SystemCommands, install
from benches.sim.phone.telephony import props_sdk, telephony_commands

log = logging.getLogger(__name__)


class VirtualPhone:
    """Boots like a phone: off → adbd up (adb shows `device`) → sys.boot_completed=1 → apps run."""

    def __init__(
        self,
        device: Device,
        manifest: Manifest,
        resolver: str,
        timings: Timings,
        location: tuple[float, float],
        *,
        pin: str | None = None,
        faults: Sequence[Fault] = (),
        debuggable: bool = True,
        boots_on_power: bool = True,
        files: Path | None = None,
        pinned_ca: bytes = b"",
    ) -> None:
        """`pin`: the lock-screen PIN (default: devices.yaml's `unlock_pin`). `debuggable`:
        a userdebug QA build, whose `su` lets the bench factory-reset it. `files`: the
        phone's file tree (its CA stores; `adb push` writes there), None for none.
        `pinned_ca`: the CA the firmware's pinned app ships."""
        if not device.adb_connect or not device.network.ipv4:
            raise ValueError(f"{device.serial}: a virtual phone needs adb_connect and network.ipv4")
        self.device = device
        self.timings = timings
        self.boots_on_power = boots_on_power
        self.plan = FaultPlan(device.serial, faults)
        self.firmware = Firmware(manifest.virtual_behaviours)
        self.facts = PhoneFacts(
            identity=self.plan.identity(device.identity),
            build=manifest.build,
            model=device.model,
            latitude=location[0] + _jitter(device.serial, "lat"),
            longitude=location[1] + _jitter(device.serial, "lon"),
            pinned_ca=pinned_ca,
        )
        props = self._props(device, manifest, self.plan.fingerprint(manifest.fingerprint))
        props["ro.debuggable"] = "1" if debuggable else "0"
        sdk = self.plan.sdk()
        if sdk is not None:
            props["ro.build.version.sdk"] = str(sdk)
            props["ro.build.version.release"] = RELEASE_BY_SDK[sdk]
        self.logcat = LogBuffer()
        self.state = PhoneState(props=props, pin=pin or device.unlock_pin)
        self.files = files
        # Its file tree, for `adb push` (sync), `adb root` and `adb remount`.
        self.adb_files = PhoneFiles(files, debuggable=debuggable) if files else None
        # Its TLS clients read the store through the file tree's mounts (a CA the bench
        # mounted there counts until the next reboot).
        trust = (
            TrustStore(self.adb_files.host_path, lambda: props_sdk(self.state.props))
            if self.adb_files
            else None
        )
        self.network = PhoneNetwork(device.network.ipv4, resolver, trust=trust)
        self.shell = PhoneShell(
            self.state,
            self.network,
            self.request_reboot,
            extra={
                **telephony_commands(
                    lambda: self.facts.identity,
                    props_sdk(self.state.props),
                    oem_layout=self.plan.oem_subinfo(),
                ),
                "logcat": logcat_command(self.logcat),
            },
        )
        self.keyguard = Keyguard(self.state, self._unlocked)
        hooks = PhoneHooks(factory_reset=self._factory_reset, changed=self._check_activation)
        commands = SystemCommands(
            self.state, self.network, self.keyguard, hooks, debuggable=debuggable
        )
        install(self.shell, commands)
        adb_files = self.adb_files
        if adb_files is not None:
            commands.adbd_root = lambda: adb_files.adbd_root
            self.shell.commands.update(file_commands(adb_files, lambda: commands.root))
        host, port = device.adb_connect.rsplit(":", 1)
        self.adbd = AdbDaemon(
            host,
            int(port),
            banner=self._banner,
            shell=self._shell,
            on_reboot=self.request_reboot,
            files=self.adb_files,
        )
        # Hooks for the bench's own simulators; each must return quickly.
        self.console: Callable[[str], None] | None = None  # gets each UART line (no line end)
        self.bootloader: Callable[[], None] | None = None  # the phone entered its bootloader
        self.bootloader_left: Callable[[], None] | None = None  # ... and left it
        serial = device.serial
        self._console = ConsoleFeed(serial, lambda: self.console)
        self._life = Lifecycle(
            serial,
            timings,
            self.plan,
            self._console,
            self.adbd,
            BootHooks(
                framework_up=self._framework_up,
                power_lost=self._power_lost,
                wiped=self.state.wipe,
                power_key=lambda: self.keyguard.key(POWER),
                in_bootloader=self._enter_bootloader,
                left_bootloader=self._left_bootloader,
            ),
        )
        self._events = FirmwareEvents(serial, self._fire, lambda: self._life.generation)
        self._activation = threading.Lock()

    @staticmethod
    def _props(device: Device, manifest: Manifest, fingerprint: str) -> dict[str, str]:
        return {
            "ro.serialno": device.identity.serial or device.serial,
            "ro.product.model": device.model,
            "ro.product.name": "Onyx_00WW",
            "ro.product.device": "B2N_sprout",
            "ro.build.fingerprint": fingerprint,
            "ro.build.display.id": manifest.build,
            "ro.build.version.release": "10",
            "ro.build.type": "user",
            # The rack's QA builds keep adb on across a wipe (docs/architecture.md).
            "ro.adb.secure": "0",
            "persist.sys.usb.config": "adb",
            "sys.boot_completed": "",
            "gsm.sim.state": "",
        }

    def _banner(self) -> dict[str, str]:
        props = self.state.props
        return {
            key: props[key] for key in ("ro.product.name", "ro.product.model", "ro.product.device")
        }

    def _shell(self, command: str) -> ShellResult:
        return self.shell.run(command)

    # -- what is wired to the phone ------------------------------------------------
    @property
    def phase(self) -> str:
        """off, booting, on or bootloader."""
        return self._life.phase

    @property
    def powered(self) -> bool:
        return self._life.powered

    @property
    def boots(self) -> int:
        """Boots begun so far; 1 is the power-on at rack start."""
        return self._life.boots

    @property
    def events_fired(self) -> list[str]:
        """Firmware events whose behaviours ran, in order (boot, unlock, activation)."""
        return self._events.fired

    def actual_identity(self) -> Identity:
        """What the phone itself reports and leaks: devices.yaml's, unless a fault changes it."""
        return self.facts.identity

    def power_on(self) -> None:
        """Power present and the phone switched on, as at the rack's start."""
        self._life.power_on()

    def power_cut(self) -> None:
        self._life.power_cut()

    def power_restore(self) -> None:
        self._life.power_restore(self.boots_on_power)

    def press_power_button(self, seconds: float) -> None:
        self._life.press(seconds)

    def request_reboot(self, reason: str = "") -> None:
        """Called from adbd's `reboot:` service or the shell's `reboot`."""
        log.info("%s: reboot requested (%s)", self.device.serial, reason or "normal")
        self._life.reboot(reason)

    def _enter_bootloader(self) -> None:
        """The phone now sits in its bootloader (adbd down, nothing booting): start its fastboot."""
        log.info("%s: in the bootloader", self.device.serial)
        if self.bootloader is not None:
            self.bootloader()

    def _left_bootloader(self) -> None:
        if self.bootloader_left is not None:
            self.bootloader_left()

    def boot_from_bootloader(self) -> None:
        """Leave the bootloader with a normal boot (`fastboot reboot` / `continue`)."""
        self._life.boot_from_bootloader()

    def wipe_userdata(self) -> None:
        """/data erased (`fastboot -w` or `erase userdata`): the next boot is a first boot."""
        self.state.wipe()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for the boot in progress, then for the firmware's reactions to finish."""
        self._life.wait_idle(timeout)
        self._events.wait_idle(timeout)

    def stop(self) -> None:
        self._life.stop()
        self._events.stop()

    # -- reactions -------------------------------------------------------------------
    def _power_lost(self) -> None:
        self.state.power_lost()
        # An app of the boot that just ended sends nothing more (a behaviour still running
        # on the firmware's thread would, into the next cycle's capture); up again at boot.
        self.network.enabled = False
        if self.adb_files is not None:  # adbd starts as the shell user again
            self.adb_files.adbd_root = False
            self.adb_files.system_writable = False
            self.adb_files.unmount_all()

    def _framework_up(self, generation: int, boot: int) -> None:
        self.logcat.add("I", "ActivityManager", f"Boot completed (boot {boot}): BOOT_COMPLETED")
        self.state.boot_finished()
        self.network.enabled = self.state.network_up
        self._events.post(BOOT, generation)  # BOOT_COMPLETED receivers
        self._check_activation()

    def _unlocked(self) -> None:
        self.logcat.add("I", "KeyguardViewMediator", "keyguard dismissed: USER_PRESENT")
        self._events.post(UNLOCK, self._life.generation)  # ACTION_USER_PRESENT

    def _factory_reset(self) -> None:
        log.info("%s: factory reset requested", self.device.serial)
        self._life.factory_reset()

    def _check_activation(self) -> None:
        """The first time after a wipe that the phone is provisioned, with SIM and network."""
        state = self.state
        with self._activation:
            ready = state.booted and state.provisioned and state.sim_ready and state.network_up
            if not ready or state.activated:
                return
            state.activated = True
        self.logcat.add("I", "SetupWizard", "device provisioned, SIM and network up")
        self._events.post(ACTIVATION, self._life.generation)

    def _fire(self, event: str, alive: Callable[[], bool]) -> None:
        self.logcat.add("D", "FirmwareEvents", f"{event} delivered to the firmware's receivers")
        self.firmware.fire(event, self.network, self.facts, alive)


def _jitter(serial: str, axis: str) -> float:
    """A phone sits a few hundred metres from the bench's reference point."""
    digest = hashlib.sha256(f"{serial}/{axis}".encode()).digest()
    return (digest[0] - 128) / 128 * 0.003
