"""The virtual rack: virtual phones that speak the real protocols, on this machine only.

Each folder is one thing a rack has: `adbd/` (the device side of ADB over TCP),
`fastboot/` (a phone's bootloader, fastboot over TCP), `serial/` (the far end of
serial ports, and the phones' UARTs), `relays/` (relay boards), `phone/` (a phone:
state, shell, keyguard, telephony, power and boot), `network/` (the rack's
internet: resolver, endpoints, the phone's sockets) and `firmware/` (what the
build under test sends, and its images). `rack.py` starts and stops it all;
`wiring.py` is its cabling.

The simulator imports only `benches.inventory`; only the pytest plugin and the
CLI import it, when the rack is virtual.
"""
