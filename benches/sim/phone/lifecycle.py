"""A virtual phone's power and boot: off, booting, on, bootloader; power cuts and the power button.

Every change of phase (a reboot, a power cut, entering the bootloader) starts
a new *generation*. A boot thread or timer acts only while its generation is
current, and checks that under the lock, so a boot interrupted by a power cut
can never later bring adbd up or mark the phone booted. Sleeps wait on the
generation's cancel event, so a cut ends them at once.

adbd goes up and down only through `_set_adbd`, under its own lock and with
the same generation check; the latest generation always wins.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from benches.inventory.models import Timings
from benches.sim.adbd.daemon import AdbDaemon
from benches.sim.phone.console_feed import ConsoleFeed
from benches.sim.phone.fault_plan import Drop, FaultPlan

log = logging.getLogger(__name__)

OFF, BOOTING, ON, BOOTLOADER = "off", "booting", "on", "bootloader"
POWER_ON_HOLD_S = 0.5  # holding the key this long switches an off phone on
FORCED_RESTART_HOLD_S = 10.0  # holding it this long restarts a running or hung phone (PMIC reset)
RESET_DELAY_S = 0.3  # FACTORY_RESET received -> the phone goes down for the wipe


@dataclass(frozen=True)
class BootHooks:
    """What the phone does at the lifecycle's moments."""

    framework_up: Callable[[int, int], None]  # (generation, boot number), under the lock
    power_lost: Callable[[], None]  # RAM is gone (a cut, a reboot)
    wiped: Callable[[], None]  # /data formatted (factory reset)
    power_key: Callable[[], None]  # a short press while on: like KEYCODE_POWER
    in_bootloader: Callable[[], None]  # the phone now sits in its bootloader
    left_bootloader: Callable[[], None]  # it left it (booting, or power cut)


class Lifecycle:
    def __init__(
        self,
        name: str,
        timings: Timings,
        plan: FaultPlan,
        console: ConsoleFeed,
        adbd: AdbDaemon,
        hooks: BootHooks,
    ) -> None:
        self.name, self.timings, self.plan = name, timings, plan
        self.console, self.adbd, self.hooks = console, adbd, hooks
        self.generation = 0
        self.phase = OFF
        self.powered = False
        self.boots = 0  # boots begun; 1 is the power-on at rack start
        self._lock = threading.Lock()
        self._adbd_lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what the outside world does ---------------------------------------------
    def power_on(self) -> None:
        """Power present and the phone switched on (the rack's start)."""
        with self._lock:
            self.powered = True
            if self.phase == OFF:
                self._boot_locked()

    def power_cut(self) -> None:
        with self._lock:
            self.powered = False
            generation = self._next_locked(OFF)
        self.console.silence()
        self.hooks.power_lost()
        self._set_adbd(generation, False)

    def power_restore(self, boots_on_power: bool) -> None:
        with self._lock:
            already, self.powered = self.powered, True
            if not already and boots_on_power and self.phase == OFF:
                self._boot_locked()

    def press(self, seconds: float) -> None:
        with self._lock:
            if not self.powered or self.phase == BOOTLOADER:
                return
            switched_on = self.phase == OFF and seconds >= POWER_ON_HOLD_S
            if switched_on or seconds >= FORCED_RESTART_HOLD_S:
                self._boot_locked()
                return
            short_press_on = self.phase == ON and seconds < POWER_ON_HOLD_S
        if short_press_on:
            self.hooks.power_key()

    def reboot(self, reason: str = "", wipe: bool = False) -> None:
        with self._lock:
            if not self.powered:
                return
            if reason == "bootloader":
                generation = self._next_locked(BOOTLOADER)
                self._spawn(self._to_bootloader, generation)
            else:
                self._boot_locked(wipe=wipe)

    def factory_reset(self) -> None:
        """FACTORY_RESET was broadcast: shortly after, reboot through recovery's wipe."""
        generation = self.generation

        def go_down() -> None:
            if self.wait(generation, RESET_DELAY_S):
                self.console.kernel("reboot: Restarting system with command 'recovery'")
                self.reboot("recovery", wipe=True)

        threading.Thread(target=go_down, name=f"reset-{self.name}", daemon=True).start()

    def boot_from_bootloader(self) -> None:
        with self._lock:
            if self.phase == BOOTLOADER and self.powered:
                self._boot_locked()

    def stop(self) -> None:
        with self._lock:
            self.powered = False
            generation = self._next_locked(OFF)
        self._set_adbd(generation, False)

    def wait_idle(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def alive(self, generation: int) -> bool:
        return generation == self.generation

    def wait(self, generation: int, seconds: float) -> bool:
        """Sleep `seconds` unless the generation ends first; True if it is still current."""
        with self._lock:
            if generation != self.generation:
                return False
            cancel = self._cancel
        return not cancel.wait(seconds) and self.alive(generation)

    # -- inside ------------------------------------------------------------------
    def _next_locked(self, phase: str) -> int:
        if self.phase == BOOTLOADER and phase != BOOTLOADER:
            threading.Thread(target=self.hooks.left_bootloader, daemon=True).start()
        self.generation += 1
        self._cancel.set()
        self._cancel = threading.Event()
        self.phase = phase
        return self.generation

    def _boot_locked(self, wipe: bool = False) -> None:
        generation = self._next_locked(BOOTING)
        self.boots += 1
        self._spawn(self._boot, generation, self.boots, wipe)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        self._thread = threading.Thread(
            target=target, args=args, name=f"boot-{self.name}", daemon=True
        )
        self._thread.start()

    def _boot(self, generation: int, number: int, wipe: bool) -> None:
        if not self._set_adbd(generation, False):  # the ADB connection drops
            return
        self.hooks.power_lost()
        if wipe:
            self.hooks.wiped()
        if self.plan.dead(number):
            log.info("%s: boot %d: never_return fault, nothing starts", self.name, number)
            return
        self.console.boot_started()
        self.console.kernel("Booting Linux on physical CPU 0x0")
        self.console.kernel("Linux version 4.4.153-perf+ (builder@bench) #1 SMP PREEMPT")
        if not self.wait(generation, self.timings.boot_offline_s):
            return
        if self.plan.hangs(number):
            log.info("%s: boot %d: hang_at_boot fault, stuck before adbd", self.name, number)
            self.console.kernel("init: wait for '/dev/block/by-name/system' timed out")
            return
        self.console.kernel("init: starting service 'adbd'...")
        if not self._set_adbd(generation, True):
            return
        if not self.wait(generation, self.timings.boot_completed_s):
            return
        with self._lock:
            if generation != self.generation:
                return
            self.phase = ON
            self.hooks.framework_up(generation, number)
        self.console.kernel("init: processing action (sys.boot_completed=1) from (/init.rc:1131)")
        drop = self.plan.drop(number)
        if drop is not None:
            self._drop_adbd(generation, drop)

    def _drop_adbd(self, generation: int, drop: Drop) -> None:
        if not self.wait(generation, drop.after_s) or not self._set_adbd(generation, False):
            return
        self.console.kernel("init: Service 'adbd' (pid 612) received signal 9")
        if drop.back_after_s is None or not self.wait(generation, drop.back_after_s):
            return
        if self._set_adbd(generation, True):
            self.console.kernel("init: starting service 'adbd'...")

    def _to_bootloader(self, generation: int) -> None:
        if self._set_adbd(generation, False):
            self.console.kernel("reboot: Restarting system with command 'bootloader'")
            self.hooks.power_lost()
            self.hooks.in_bootloader()

    def _set_adbd(self, generation: int, up: bool) -> bool:
        with self._adbd_lock:
            if generation != self.generation:
                return False
            try:
                self.adbd.start() if up else self.adbd.stop()
            except OSError as error:
                log.warning("%s: adbd %s failed: %s", self.name, "start" if up else "stop", error)
                return False
            return True
