"""A phone's bootloader: fastboot over TCP, so the real `fastboot` binary flashes virtual phones.

`server.py` listens (FastbootServer), `session.py` answers one host's commands,
and `bootloader.py` wires a server to a virtual phone while it sits in its bootloader.
"""
