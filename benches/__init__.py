"""benches: a release gate for phone-firmware privacy.

The folders are the data flow, read top to bottom; each imports only from the
ones above it in this list (import-linter checks it: pyproject.toml).

- ``inventory``    devices.yaml and firmware manifests -> typed, validated models
- ``redaction``    identifiers masked wherever people read them
- ``rack``         drivers for what is plugged in: adb, fastboot, power, consoles,
                   identity harvest, discovery, the bench session
- ``capture``      the live gateway capture: sniffer process, BPF, capture health
- ``cycles``       boot, unlock, activation, idle: windows, timeline, preflight, recovery
- ``analysis``     pcap -> flows -> protocols -> identifiers, names, countries
                   (beside ``cycles``; neither imports the other)
- ``policy``       findings, verdicts, the judge of a cycle, the GO / NO-GO decision
- ``report``       the verdict log, Allure results and report, the sign-off summary
- ``pytestplugin`` the pytest plugin: options, hooks, fixtures, the sign-off test's body
- ``cli``          the ``bench`` command (also ``python -m benches``)

``sim``, the virtual rack, stands beside them: it imports only ``inventory``, and
only ``pytestplugin`` and ``cli`` start it. docs/architecture.md has the map.
"""
