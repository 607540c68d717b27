"""The rack's drivers: how the bench uses what is plugged in (labgrid's `driver/`).

devices.yaml's models (benches.inventory) say what is plugged in; this package
drives it. It imports only inventory and redaction, never the simulator: a
virtual rack is handed to a session by whoever opens it.

- `protocols`: the interfaces the drivers meet (power, power key, relay board,
  shell, window recorder, virtual rack), in one module;
- `adb/`: the adb server, one phone over ADB, what its dumps say, its logcat;
- `fastboot/`: the fastboot driver, the manifest's image, the build check,
  the rollout of an image to every phone;
- `power/`: relay boards (chosen from a registry) and one phone's power switch;
- `identity/`: reading a phone's own identifiers and checking them against
  devices.yaml;
- `console`: recording a phone's UART console; `ports`: opening serial ports;
- `discovery`: what `bench discover` learns from attached phones;
- `session`: one bench session (adb server, phones, relays, health);
  `health`: which phones the session can still use.
"""
