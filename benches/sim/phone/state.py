"""The part of a virtual phone's state that its shell reads and changes.

What lives on /data (settings, the lock PIN, whether the firmware activated)
survives a power cut and goes with a factory reset; what lives in RAM (screen,
keyguard, runtime properties) goes with a power cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SETUP_WIZARD = "com.google.android.setupwizard/.SetupWizardActivity"
LAUNCHER = "com.android.launcher3/.Launcher"
RUNTIME_PROPS = ("sys.boot_completed", "gsm.sim.state")


def factory_settings(provisioned: bool) -> dict[str, dict[str, str]]:
    """The settings a phone has out of the box (`provisioned=False`) or after its setup."""
    done = "1" if provisioned else "0"
    return {
        "global": {"device_provisioned": done, "airplane_mode_on": "0", "adb_enabled": "1"},
        "secure": {"user_setup_complete": done},
        "system": {"screen_off_timeout": "60000"},
    }


@dataclass
class PhoneState:
    props: dict[str, str]
    settings: dict[str, dict[str, str]] = field(default_factory=lambda: factory_settings(True))
    screen_on: bool = True
    keyguard_showing: bool = False
    bouncer_showing: bool = False  # the PIN entry is up
    typed: str = ""  # what was typed into the bouncer since it came up
    pin: str | None = None  # the lock-screen PIN; None: swipe to unlock
    wifi_enabled: bool = True
    data_enabled: bool = True
    battery_level: int = 87
    activated: bool = True  # the firmware's activation ran since the last wipe

    @property
    def provisioned(self) -> bool:
        return (
            self.settings["global"].get("device_provisioned") == "1"
            and self.settings["secure"].get("user_setup_complete") == "1"
        )

    @property
    def booted(self) -> bool:
        return self.props.get("sys.boot_completed") == "1"

    @property
    def network_up(self) -> bool:
        return self.wifi_enabled or self.data_enabled

    @property
    def sim_ready(self) -> bool:
        return "READY" in self.props.get("gsm.sim.state", "").split(",")

    @property
    def top_activity(self) -> str:
        """The setup wizard until the phone is provisioned, then the home screen."""
        return LAUNCHER if self.provisioned else SETUP_WIZARD

    def sleep(self) -> None:
        """Screen off: a provisioned phone locks (the setup wizard has no keyguard)."""
        self.screen_on = False
        self.keyguard_showing = self.provisioned
        self.bouncer_showing = False
        self.typed = ""

    def boot_finished(self, sim_state: str = "READY") -> None:
        """Framework up: screen on, keyguard (if provisioned), SIM read, boot_completed."""
        self.sleep()
        self.screen_on = True
        self.props["gsm.sim.state"] = sim_state
        self.props["sys.boot_completed"] = "1"

    def power_lost(self) -> None:
        """Everything in RAM goes: screen, keyguard entry, runtime properties."""
        self.sleep()
        for name in RUNTIME_PROPS:
            self.props[name] = ""

    def wipe(self) -> None:
        """A factory reset: /data is formatted, so settings, PIN and activation go too."""
        self.settings = factory_settings(provisioned=False)
        self.pin = None
        self.activated = False
        self.wifi_enabled = self.data_enabled = True
        self.power_lost()
