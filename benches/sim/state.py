"""The part of a virtual phone's state that its shell reads and changes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PhoneState:
    props: dict[str, str]
    settings: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "global": {"device_provisioned": "1", "airplane_mode_on": "0"},
            "secure": {"user_setup_complete": "1"},
            "system": {"screen_off_timeout": "60000"},
        }
    )
    screen_on: bool = True
    keyguard_locked: bool = False
    wifi_enabled: bool = True
    data_enabled: bool = True
    battery_level: int = 87
